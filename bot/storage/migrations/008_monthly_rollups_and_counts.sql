-- Reads that stay a few rows however long a server's history grows (issue 16).
--
-- 1. usage_by_member_month / usage_by_model_month roll jobs up per UTC month, beside migration 003's
--    per-day rollups, with the same rules: every job lands in the UTC month it was admitted in
--    (global_month_key); spent and failed follow its state. /usage then sums one row per member and
--    month for whole months and the per-day rows of at most half a month, instead of one row per
--    member and day of the window.
-- 2. job_counts_by_guild / job_counts_by_member count jobs per state, so /history's page count is a
--    sum over at most nine states instead of a count of the server's whole history.
--
-- Triggers keep them in the same transaction as the job INSERT or state UPDATE (or DELETE), like the
-- ledger. Released states: failed, unconfirmed, timed_out, cancelled; failures: the first three.

CREATE TABLE usage_by_member_month (
    guild_id    INTEGER NOT NULL,
    month       TEXT    NOT NULL,
    member_id   INTEGER NOT NULL,
    videos      INTEGER NOT NULL DEFAULT 0,
    credits     REAL    NOT NULL DEFAULT 0,
    failures    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, month, member_id)
) WITHOUT ROWID;

CREATE TABLE usage_by_model_month (
    guild_id    INTEGER NOT NULL,
    month       TEXT    NOT NULL,
    model       TEXT    NOT NULL,
    videos      INTEGER NOT NULL DEFAULT 0,
    credits     REAL    NOT NULL DEFAULT 0,
    failures    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, month, model)
) WITHOUT ROWID;

CREATE TABLE job_counts_by_guild (
    guild_id    INTEGER NOT NULL,
    state       TEXT    NOT NULL,
    jobs        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, state)
) WITHOUT ROWID;

CREATE TABLE job_counts_by_member (
    guild_id    INTEGER NOT NULL,
    member_id   INTEGER NOT NULL,
    state       TEXT    NOT NULL,
    jobs        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, member_id, state)
) WITHOUT ROWID;

-- Backfill from the jobs already stored.
INSERT INTO usage_by_model_month (guild_id, month, model, videos, credits, failures)
SELECT guild_id, global_month_key, COALESCE(model, ''),
       COUNT(*) FILTER (WHERE state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')),
       TOTAL(cost) FILTER (WHERE state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')),
       COUNT(*) FILTER (WHERE state IN ('failed', 'unconfirmed', 'timed_out'))
  FROM jobs GROUP BY guild_id, global_month_key, COALESCE(model, '');

INSERT INTO usage_by_member_month (guild_id, month, member_id, videos, credits, failures)
SELECT guild_id, global_month_key, member_id,
       COUNT(*) FILTER (WHERE state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')),
       TOTAL(cost) FILTER (WHERE state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')),
       COUNT(*) FILTER (WHERE state IN ('failed', 'unconfirmed', 'timed_out'))
  FROM jobs GROUP BY guild_id, global_month_key, member_id;

INSERT INTO job_counts_by_guild (guild_id, state, jobs)
SELECT guild_id, state, COUNT(*) FROM jobs GROUP BY guild_id, state;

INSERT INTO job_counts_by_member (guild_id, member_id, state, jobs)
SELECT guild_id, member_id, state, COUNT(*) FROM jobs GROUP BY guild_id, member_id, state;

CREATE TRIGGER jobs_usage_months_insert AFTER INSERT ON jobs
BEGIN
    INSERT INTO usage_by_model_month (guild_id, month, model, videos, credits, failures)
    VALUES (NEW.guild_id, NEW.global_month_key, COALESCE(NEW.model, ''),
            NEW.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'),
            CASE WHEN NEW.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')
                 THEN NEW.cost ELSE 0 END,
            NEW.state IN ('failed', 'unconfirmed', 'timed_out'))
    ON CONFLICT (guild_id, month, model) DO UPDATE SET videos = videos + excluded.videos,
        credits = credits + excluded.credits, failures = failures + excluded.failures;
    INSERT INTO usage_by_member_month (guild_id, month, member_id, videos, credits, failures)
    VALUES (NEW.guild_id, NEW.global_month_key, NEW.member_id,
            NEW.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'),
            CASE WHEN NEW.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')
                 THEN NEW.cost ELSE 0 END,
            NEW.state IN ('failed', 'unconfirmed', 'timed_out'))
    ON CONFLICT (guild_id, month, member_id) DO UPDATE SET videos = videos + excluded.videos,
        credits = credits + excluded.credits, failures = failures + excluded.failures;
END;

CREATE TRIGGER jobs_usage_months_state AFTER UPDATE OF state ON jobs
WHEN (OLD.state IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'))
       <> (NEW.state IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'))
  OR (OLD.state IN ('failed', 'unconfirmed', 'timed_out')) <> (NEW.state IN ('failed', 'unconfirmed', 'timed_out'))
BEGIN
    UPDATE usage_by_model_month
       SET videos = videos + (NEW.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'))
                           - (OLD.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')),
           credits = credits + OLD.cost * ((NEW.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'))
                                         - (OLD.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'))),
           failures = failures + (NEW.state IN ('failed', 'unconfirmed', 'timed_out'))
                               - (OLD.state IN ('failed', 'unconfirmed', 'timed_out'))
     WHERE guild_id = OLD.guild_id AND month = OLD.global_month_key AND model = COALESCE(OLD.model, '');
    UPDATE usage_by_member_month
       SET videos = videos + (NEW.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'))
                           - (OLD.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')),
           credits = credits + OLD.cost * ((NEW.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'))
                                         - (OLD.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'))),
           failures = failures + (NEW.state IN ('failed', 'unconfirmed', 'timed_out'))
                               - (OLD.state IN ('failed', 'unconfirmed', 'timed_out'))
     WHERE guild_id = OLD.guild_id AND month = OLD.global_month_key AND member_id = OLD.member_id;
END;

CREATE TRIGGER jobs_counts_insert AFTER INSERT ON jobs
BEGIN
    INSERT INTO job_counts_by_guild (guild_id, state, jobs) VALUES (NEW.guild_id, NEW.state, 1)
    ON CONFLICT (guild_id, state) DO UPDATE SET jobs = jobs + 1;
    INSERT INTO job_counts_by_member (guild_id, member_id, state, jobs)
    VALUES (NEW.guild_id, NEW.member_id, NEW.state, 1)
    ON CONFLICT (guild_id, member_id, state) DO UPDATE SET jobs = jobs + 1;
END;

CREATE TRIGGER jobs_counts_state AFTER UPDATE OF state ON jobs
WHEN OLD.state <> NEW.state
BEGIN
    UPDATE job_counts_by_guild SET jobs = jobs - 1 WHERE guild_id = OLD.guild_id AND state = OLD.state;
    UPDATE job_counts_by_member SET jobs = jobs - 1
     WHERE guild_id = OLD.guild_id AND member_id = OLD.member_id AND state = OLD.state;
    INSERT INTO job_counts_by_guild (guild_id, state, jobs) VALUES (NEW.guild_id, NEW.state, 1)
    ON CONFLICT (guild_id, state) DO UPDATE SET jobs = jobs + 1;
    INSERT INTO job_counts_by_member (guild_id, member_id, state, jobs)
    VALUES (NEW.guild_id, NEW.member_id, NEW.state, 1)
    ON CONFLICT (guild_id, member_id, state) DO UPDATE SET jobs = jobs + 1;
END;

CREATE TRIGGER jobs_counts_delete AFTER DELETE ON jobs
BEGIN
    UPDATE job_counts_by_guild SET jobs = jobs - 1 WHERE guild_id = OLD.guild_id AND state = OLD.state;
    UPDATE job_counts_by_member SET jobs = jobs - 1
     WHERE guild_id = OLD.guild_id AND member_id = OLD.member_id AND state = OLD.state;
END;
