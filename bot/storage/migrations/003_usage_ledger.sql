-- The operator's money, kept cheap as history grows.
--
-- 1. Each job records the UTC day and month it was admitted in (global_day_key, global_month_key):
--    the operator's caps over all servers count UTC periods, and a release must go back to the
--    period the units were taken from.
-- 2. usage_ledger holds, per period, what the non-released jobs hold: per server, per member of a
--    server, and for all servers together. Admission and /quota read six primary-key rows instead of
--    scanning a month of job rows, so admitting a job costs the same with 10^3 or 10^6 rows.
-- 3. usage_by_model_day / usage_by_member_day roll jobs up per UTC day for /usage.
--
-- Triggers keep all of them in step with the jobs table in the same transaction as the INSERT or
-- state UPDATE that changes a job, whichever code path does it. A job counts unless its state is a
-- released one (failed, unconfirmed, timed_out, cancelled); only a change across that line moves
-- units, so a release happens exactly once and a second guarded transition moves nothing.
-- A member's own rows count only jobs created at or after their latest reset (member_resets); the
-- store rebuilds those rows when a moderator resets a member.

ALTER TABLE jobs ADD COLUMN global_day_key TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN global_month_key TEXT NOT NULL DEFAULT '';
UPDATE jobs SET global_day_key = strftime('%Y-%m-%d', created_at, 'unixepoch'),
                global_month_key = strftime('%Y-%m', created_at, 'unixepoch');

-- scope 'server': guild_id, member_id 0; 'member': guild_id and member_id; 'all': both 0.
-- period is a day key (YYYY-MM-DD) or a month key (YYYY-MM).
CREATE TABLE usage_ledger (
    scope       TEXT    NOT NULL CHECK (scope IN ('server', 'member', 'all')),
    guild_id    INTEGER NOT NULL,
    member_id   INTEGER NOT NULL,
    period      TEXT    NOT NULL,
    videos      INTEGER NOT NULL DEFAULT 0,
    credits     REAL    NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, guild_id, member_id, period)
) WITHOUT ROWID;

CREATE TABLE usage_by_model_day (
    guild_id    INTEGER NOT NULL,
    day         TEXT    NOT NULL,
    model       TEXT    NOT NULL,
    videos      INTEGER NOT NULL DEFAULT 0,
    credits     REAL    NOT NULL DEFAULT 0,
    failures    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day, model)
) WITHOUT ROWID;

CREATE TABLE usage_by_member_day (
    guild_id    INTEGER NOT NULL,
    day         TEXT    NOT NULL,
    member_id   INTEGER NOT NULL,
    videos      INTEGER NOT NULL DEFAULT 0,
    credits     REAL    NOT NULL DEFAULT 0,
    failures    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day, member_id)
) WITHOUT ROWID;

-- Backfill from the jobs already stored.
INSERT INTO usage_ledger (scope, guild_id, member_id, period, videos, credits)
SELECT 'server', guild_id, 0, day_key, COUNT(*), TOTAL(cost) FROM jobs
 WHERE state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled') GROUP BY guild_id, day_key
UNION ALL
SELECT 'server', guild_id, 0, month_key, COUNT(*), TOTAL(cost) FROM jobs
 WHERE state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled') GROUP BY guild_id, month_key
UNION ALL
SELECT 'all', 0, 0, global_day_key, COUNT(*), TOTAL(cost) FROM jobs
 WHERE state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled') GROUP BY global_day_key
UNION ALL
SELECT 'all', 0, 0, global_month_key, COUNT(*), TOTAL(cost) FROM jobs
 WHERE state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled') GROUP BY global_month_key;

INSERT INTO usage_ledger (scope, guild_id, member_id, period, videos, credits)
SELECT 'member', guild_id, member_id, day_key, COUNT(*), TOTAL(cost) FROM jobs
 WHERE state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')
   AND created_at >= COALESCE((SELECT MAX(reset_at) FROM member_resets AS r
                                WHERE r.guild_id = jobs.guild_id AND r.member_id = jobs.member_id), 0.0)
 GROUP BY guild_id, member_id, day_key;

INSERT INTO usage_ledger (scope, guild_id, member_id, period, videos, credits)
SELECT 'member', guild_id, member_id, month_key, COUNT(*), TOTAL(cost) FROM jobs
 WHERE state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')
   AND created_at >= COALESCE((SELECT MAX(reset_at) FROM member_resets AS r
                                WHERE r.guild_id = jobs.guild_id AND r.member_id = jobs.member_id), 0.0)
 GROUP BY guild_id, member_id, month_key;

INSERT INTO usage_by_model_day (guild_id, day, model, videos, credits, failures)
SELECT guild_id, global_day_key, COALESCE(model, ''),
       COUNT(*) FILTER (WHERE state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')),
       TOTAL(cost) FILTER (WHERE state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')),
       COUNT(*) FILTER (WHERE state IN ('failed', 'unconfirmed', 'timed_out'))
  FROM jobs GROUP BY guild_id, global_day_key, COALESCE(model, '');

INSERT INTO usage_by_member_day (guild_id, day, member_id, videos, credits, failures)
SELECT guild_id, global_day_key, member_id,
       COUNT(*) FILTER (WHERE state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')),
       TOTAL(cost) FILTER (WHERE state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')),
       COUNT(*) FILTER (WHERE state IN ('failed', 'unconfirmed', 'timed_out'))
  FROM jobs GROUP BY guild_id, global_day_key, member_id;

-- A new job that holds units adds them to its six ledger rows.
CREATE TRIGGER jobs_ledger_insert AFTER INSERT ON jobs
WHEN NEW.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')
BEGIN
    INSERT INTO usage_ledger (scope, guild_id, member_id, period, videos, credits) VALUES
        ('server', NEW.guild_id, 0, NEW.day_key, 1, NEW.cost),
        ('server', NEW.guild_id, 0, NEW.month_key, 1, NEW.cost),
        ('all', 0, 0, NEW.global_day_key, 1, NEW.cost),
        ('all', 0, 0, NEW.global_month_key, 1, NEW.cost)
    ON CONFLICT (scope, guild_id, member_id, period)
    DO UPDATE SET videos = videos + excluded.videos, credits = credits + excluded.credits;
    INSERT INTO usage_ledger (scope, guild_id, member_id, period, videos, credits)
    SELECT 'member', NEW.guild_id, NEW.member_id, key, 1, NEW.cost
      FROM (SELECT NEW.day_key AS key UNION ALL SELECT NEW.month_key)
     WHERE NEW.created_at >= COALESCE((SELECT MAX(reset_at) FROM member_resets
                                        WHERE guild_id = NEW.guild_id AND member_id = NEW.member_id), 0.0)
    ON CONFLICT (scope, guild_id, member_id, period)
    DO UPDATE SET videos = videos + excluded.videos, credits = credits + excluded.credits;
END;

-- Crossing the released line moves the job's units out of (or back into) the periods it was
-- admitted in. Any other state change moves nothing.
CREATE TRIGGER jobs_ledger_state AFTER UPDATE OF state ON jobs
WHEN (OLD.state IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'))
  <> (NEW.state IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'))
BEGIN
    INSERT INTO usage_ledger (scope, guild_id, member_id, period, videos, credits)
    SELECT scope, guild_id, member_id, period, sign, sign * OLD.cost
      FROM (SELECT CASE WHEN NEW.state IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')
                        THEN -1 ELSE 1 END AS sign),
           (SELECT 'server' AS scope, OLD.guild_id AS guild_id, 0 AS member_id, OLD.day_key AS period
            UNION ALL SELECT 'server', OLD.guild_id, 0, OLD.month_key
            UNION ALL SELECT 'all', 0, 0, OLD.global_day_key
            UNION ALL SELECT 'all', 0, 0, OLD.global_month_key
            UNION ALL SELECT 'member', OLD.guild_id, OLD.member_id, OLD.day_key
             WHERE OLD.created_at >= COALESCE((SELECT MAX(reset_at) FROM member_resets
                                               WHERE guild_id = OLD.guild_id AND member_id = OLD.member_id), 0.0)
            UNION ALL SELECT 'member', OLD.guild_id, OLD.member_id, OLD.month_key
             WHERE OLD.created_at >= COALESCE((SELECT MAX(reset_at) FROM member_resets
                                               WHERE guild_id = OLD.guild_id AND member_id = OLD.member_id), 0.0))
     WHERE true
    ON CONFLICT (scope, guild_id, member_id, period)
    DO UPDATE SET videos = videos + excluded.videos, credits = credits + excluded.credits;
END;

-- A deleted job that still held units gives them back (the bot never deletes jobs; this keeps the
-- ledger true if an operator does).
CREATE TRIGGER jobs_ledger_delete AFTER DELETE ON jobs
WHEN OLD.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')
BEGIN
    INSERT INTO usage_ledger (scope, guild_id, member_id, period, videos, credits)
    SELECT scope, guild_id, member_id, period, -1, -OLD.cost
      FROM (SELECT 'server' AS scope, OLD.guild_id AS guild_id, 0 AS member_id, OLD.day_key AS period
            UNION ALL SELECT 'server', OLD.guild_id, 0, OLD.month_key
            UNION ALL SELECT 'all', 0, 0, OLD.global_day_key
            UNION ALL SELECT 'all', 0, 0, OLD.global_month_key
            UNION ALL SELECT 'member', OLD.guild_id, OLD.member_id, OLD.day_key
             WHERE OLD.created_at >= COALESCE((SELECT MAX(reset_at) FROM member_resets
                                               WHERE guild_id = OLD.guild_id AND member_id = OLD.member_id), 0.0)
            UNION ALL SELECT 'member', OLD.guild_id, OLD.member_id, OLD.month_key
             WHERE OLD.created_at >= COALESCE((SELECT MAX(reset_at) FROM member_resets
                                               WHERE guild_id = OLD.guild_id AND member_id = OLD.member_id), 0.0))
     WHERE true
    ON CONFLICT (scope, guild_id, member_id, period)
    DO UPDATE SET videos = videos + excluded.videos, credits = credits + excluded.credits;
END;

-- /usage rollups: every job lands in its UTC day; spent and failed follow its state.
CREATE TRIGGER jobs_usage_days_insert AFTER INSERT ON jobs
BEGIN
    INSERT INTO usage_by_model_day (guild_id, day, model, videos, credits, failures)
    VALUES (NEW.guild_id, NEW.global_day_key, COALESCE(NEW.model, ''),
            NEW.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'),
            CASE WHEN NEW.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')
                 THEN NEW.cost ELSE 0 END,
            NEW.state IN ('failed', 'unconfirmed', 'timed_out'))
    ON CONFLICT (guild_id, day, model) DO UPDATE SET videos = videos + excluded.videos,
        credits = credits + excluded.credits, failures = failures + excluded.failures;
    INSERT INTO usage_by_member_day (guild_id, day, member_id, videos, credits, failures)
    VALUES (NEW.guild_id, NEW.global_day_key, NEW.member_id,
            NEW.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'),
            CASE WHEN NEW.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')
                 THEN NEW.cost ELSE 0 END,
            NEW.state IN ('failed', 'unconfirmed', 'timed_out'))
    ON CONFLICT (guild_id, day, member_id) DO UPDATE SET videos = videos + excluded.videos,
        credits = credits + excluded.credits, failures = failures + excluded.failures;
END;

CREATE TRIGGER jobs_usage_days_state AFTER UPDATE OF state ON jobs
WHEN (OLD.state IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'))
       <> (NEW.state IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'))
  OR (OLD.state IN ('failed', 'unconfirmed', 'timed_out')) <> (NEW.state IN ('failed', 'unconfirmed', 'timed_out'))
BEGIN
    UPDATE usage_by_model_day
       SET videos = videos + (NEW.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'))
                           - (OLD.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')),
           credits = credits + OLD.cost * ((NEW.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'))
                                         - (OLD.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'))),
           failures = failures + (NEW.state IN ('failed', 'unconfirmed', 'timed_out'))
                               - (OLD.state IN ('failed', 'unconfirmed', 'timed_out'))
     WHERE guild_id = OLD.guild_id AND day = OLD.global_day_key AND model = COALESCE(OLD.model, '');
    UPDATE usage_by_member_day
       SET videos = videos + (NEW.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'))
                           - (OLD.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')),
           credits = credits + OLD.cost * ((NEW.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'))
                                         - (OLD.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'))),
           failures = failures + (NEW.state IN ('failed', 'unconfirmed', 'timed_out'))
                               - (OLD.state IN ('failed', 'unconfirmed', 'timed_out'))
     WHERE guild_id = OLD.guild_id AND day = OLD.global_day_key AND member_id = OLD.member_id;
END;

-- /history and the /extend list page through a server's jobs newest first, optionally by state;
-- these indexes give that order directly instead of sorting the server's whole history.
DROP INDEX jobs_by_guild_state;
CREATE INDEX jobs_by_guild_state ON jobs (guild_id, state, created_at);
CREATE INDEX jobs_by_guild_created ON jobs (guild_id, created_at);
CREATE INDEX jobs_by_member_state ON jobs (guild_id, member_id, state, created_at);
