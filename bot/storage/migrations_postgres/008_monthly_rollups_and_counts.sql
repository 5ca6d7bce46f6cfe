-- Mirrors migrations/008_monthly_rollups_and_counts.sql by number: reads that stay a few rows however
-- long a server's history grows (issue 16). This backend had no /usage rollups yet (its 003 only added
-- the UTC period columns), so it gets migration 003's per-day rollups here as well as 008's per-month
-- ones and per-state job counts, and SQLite's usage ledger (migration 003) so admission and /quota
-- read a few primary-key rows instead of the month's job rows. All are kept by one trigger function
-- in the transaction of the job's INSERT, state UPDATE or DELETE. UTC days and months come from created_at (this backend does not
-- write the global_*_key columns).
-- Released states: failed, unconfirmed, timed_out, cancelled; failures: the first three.

CREATE TABLE usage_by_model_day (
    guild_id BIGINT NOT NULL, day TEXT NOT NULL, model TEXT NOT NULL,
    videos BIGINT NOT NULL DEFAULT 0, credits DOUBLE PRECISION NOT NULL DEFAULT 0,
    failures BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day, model)
);
CREATE TABLE usage_by_member_day (
    guild_id BIGINT NOT NULL, day TEXT NOT NULL, member_id BIGINT NOT NULL,
    videos BIGINT NOT NULL DEFAULT 0, credits DOUBLE PRECISION NOT NULL DEFAULT 0,
    failures BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day, member_id)
);
CREATE TABLE usage_by_model_month (
    guild_id BIGINT NOT NULL, month TEXT NOT NULL, model TEXT NOT NULL,
    videos BIGINT NOT NULL DEFAULT 0, credits DOUBLE PRECISION NOT NULL DEFAULT 0,
    failures BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, month, model)
);
CREATE TABLE usage_by_member_month (
    guild_id BIGINT NOT NULL, month TEXT NOT NULL, member_id BIGINT NOT NULL,
    videos BIGINT NOT NULL DEFAULT 0, credits DOUBLE PRECISION NOT NULL DEFAULT 0,
    failures BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, month, member_id)
);
CREATE TABLE job_counts_by_guild (
    guild_id BIGINT NOT NULL, state TEXT NOT NULL, jobs BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, state)
);
CREATE TABLE job_counts_by_member (
    guild_id BIGINT NOT NULL, member_id BIGINT NOT NULL, state TEXT NOT NULL,
    jobs BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, member_id, state)
);

-- Backfill from the jobs already stored.
INSERT INTO usage_by_model_day (guild_id, day, model, videos, credits, failures)
SELECT guild_id, to_char(to_timestamp(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD'), COALESCE(model, ''),
       COUNT(*) FILTER (WHERE state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')),
       COALESCE(SUM(cost) FILTER (WHERE state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')), 0),
       COUNT(*) FILTER (WHERE state IN ('failed', 'unconfirmed', 'timed_out'))
  FROM jobs GROUP BY 1, 2, 3;
INSERT INTO usage_by_member_day (guild_id, day, member_id, videos, credits, failures)
SELECT guild_id, to_char(to_timestamp(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD'), member_id,
       COUNT(*) FILTER (WHERE state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')),
       COALESCE(SUM(cost) FILTER (WHERE state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')), 0),
       COUNT(*) FILTER (WHERE state IN ('failed', 'unconfirmed', 'timed_out'))
  FROM jobs GROUP BY 1, 2, 3;
INSERT INTO usage_by_model_month (guild_id, month, model, videos, credits, failures)
SELECT guild_id, day_key_month, model, SUM(videos), SUM(credits), SUM(failures)
  FROM (SELECT guild_id, left(day, 7) AS day_key_month, model, videos, credits, failures
          FROM usage_by_model_day) AS days
 GROUP BY 1, 2, 3;
INSERT INTO usage_by_member_month (guild_id, month, member_id, videos, credits, failures)
SELECT guild_id, day_key_month, member_id, SUM(videos), SUM(credits), SUM(failures)
  FROM (SELECT guild_id, left(day, 7) AS day_key_month, member_id, videos, credits, failures
          FROM usage_by_member_day) AS days
 GROUP BY 1, 2, 3;
INSERT INTO job_counts_by_guild (guild_id, state, jobs)
SELECT guild_id, state, COUNT(*) FROM jobs GROUP BY guild_id, state;
INSERT INTO job_counts_by_member (guild_id, member_id, state, jobs)
SELECT guild_id, member_id, state, COUNT(*) FROM jobs GROUP BY guild_id, member_id, state;

-- The usage ledger (SQLite's migration 003 has the rules): per period, what the non-released jobs
-- hold, per server ('server', member 0), per member of a server ('member', only jobs created at or
-- after the member's latest reset) and for all servers together ('all', guild and member 0, UTC keys).
CREATE TABLE usage_ledger (
    scope       TEXT   NOT NULL CHECK (scope IN ('server', 'member', 'all')),
    guild_id    BIGINT NOT NULL,
    member_id   BIGINT NOT NULL,
    period      TEXT   NOT NULL,
    videos      BIGINT NOT NULL DEFAULT 0,
    credits     DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, guild_id, member_id, period)
);

INSERT INTO usage_ledger (scope, guild_id, member_id, period, videos, credits)
WITH held AS (
    SELECT guild_id, member_id, day_key, month_key, cost,
           to_char(to_timestamp(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS utc_day,
           created_at >= COALESCE((SELECT MAX(reset_at) FROM member_resets AS r
                                    WHERE r.guild_id = jobs.guild_id AND r.member_id = jobs.member_id), 0.0)
               AS mine
      FROM jobs WHERE state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')
)
SELECT 'server', guild_id, 0, day_key, COUNT(*), SUM(cost) FROM held GROUP BY guild_id, day_key
UNION ALL SELECT 'server', guild_id, 0, month_key, COUNT(*), SUM(cost) FROM held GROUP BY guild_id, month_key
UNION ALL SELECT 'all', 0, 0, utc_day, COUNT(*), SUM(cost) FROM held GROUP BY utc_day
UNION ALL SELECT 'all', 0, 0, left(utc_day, 7), COUNT(*), SUM(cost) FROM held GROUP BY left(utc_day, 7)
UNION ALL SELECT 'member', guild_id, member_id, day_key, COUNT(*), SUM(cost) FROM held WHERE mine
    GROUP BY guild_id, member_id, day_key
UNION ALL SELECT 'member', guild_id, member_id, month_key, COUNT(*), SUM(cost) FROM held WHERE mine
    GROUP BY guild_id, member_id, month_key;

-- Adds `delta` (1 or -1) of one job's units to its six ledger rows.
CREATE FUNCTION jobs_ledger_add(job jobs, delta INTEGER) RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    utc_day TEXT := to_char(to_timestamp(job.created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD');
    mine BOOLEAN := job.created_at >= COALESCE(
        (SELECT MAX(reset_at) FROM member_resets AS r
          WHERE r.guild_id = job.guild_id AND r.member_id = job.member_id), 0.0);
BEGIN
    INSERT INTO usage_ledger AS l (scope, guild_id, member_id, period, videos, credits)
    SELECT v.scope, v.guild_id, v.member_id, v.period, delta, delta * job.cost
      FROM (VALUES ('server', job.guild_id, 0::bigint, job.day_key),
                   ('server', job.guild_id, 0::bigint, job.month_key),
                   ('all', 0::bigint, 0::bigint, utc_day),
                   ('all', 0::bigint, 0::bigint, left(utc_day, 7)),
                   ('member', job.guild_id, job.member_id, job.day_key),
                   ('member', job.guild_id, job.member_id, job.month_key))
           AS v (scope, guild_id, member_id, period)
     WHERE v.scope <> 'member' OR mine
    ON CONFLICT (scope, guild_id, member_id, period)
    DO UPDATE SET videos = l.videos + excluded.videos, credits = l.credits + excluded.credits;
END;
$$;

-- Adds `delta` (1 or -1) of one job, as `job` describes it, to the per-day and per-month rollups.
CREATE FUNCTION jobs_rollups_add(job jobs, delta INTEGER) RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    utc_day TEXT := to_char(to_timestamp(job.created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD');
    spent INTEGER := CASE WHEN job.state IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')
                          THEN 0 ELSE delta END;
    failed INTEGER := CASE WHEN job.state IN ('failed', 'unconfirmed', 'timed_out') THEN delta ELSE 0 END;
BEGIN
    INSERT INTO usage_by_model_day AS r (guild_id, day, model, videos, credits, failures)
    VALUES (job.guild_id, utc_day, COALESCE(job.model, ''), spent, spent * job.cost, failed)
    ON CONFLICT (guild_id, day, model) DO UPDATE SET videos = r.videos + excluded.videos,
        credits = r.credits + excluded.credits, failures = r.failures + excluded.failures;
    INSERT INTO usage_by_member_day AS r (guild_id, day, member_id, videos, credits, failures)
    VALUES (job.guild_id, utc_day, job.member_id, spent, spent * job.cost, failed)
    ON CONFLICT (guild_id, day, member_id) DO UPDATE SET videos = r.videos + excluded.videos,
        credits = r.credits + excluded.credits, failures = r.failures + excluded.failures;
    INSERT INTO usage_by_model_month AS r (guild_id, month, model, videos, credits, failures)
    VALUES (job.guild_id, left(utc_day, 7), COALESCE(job.model, ''), spent, spent * job.cost, failed)
    ON CONFLICT (guild_id, month, model) DO UPDATE SET videos = r.videos + excluded.videos,
        credits = r.credits + excluded.credits, failures = r.failures + excluded.failures;
    INSERT INTO usage_by_member_month AS r (guild_id, month, member_id, videos, credits, failures)
    VALUES (job.guild_id, left(utc_day, 7), job.member_id, spent, spent * job.cost, failed)
    ON CONFLICT (guild_id, month, member_id) DO UPDATE SET videos = r.videos + excluded.videos,
        credits = r.credits + excluded.credits, failures = r.failures + excluded.failures;
END;
$$;

-- The ledger moves when a job crosses the released line, the rollups when it crosses that or the
-- failure line; the counts move with every state change.
CREATE FUNCTION jobs_rollups() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE job_counts_by_guild SET jobs = jobs - 1 WHERE guild_id = OLD.guild_id AND state = OLD.state;
        UPDATE job_counts_by_member SET jobs = jobs - 1
         WHERE guild_id = OLD.guild_id AND member_id = OLD.member_id AND state = OLD.state;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO job_counts_by_guild AS c (guild_id, state, jobs) VALUES (NEW.guild_id, NEW.state, 1)
        ON CONFLICT (guild_id, state) DO UPDATE SET jobs = c.jobs + 1;
        INSERT INTO job_counts_by_member AS c (guild_id, member_id, state, jobs)
        VALUES (NEW.guild_id, NEW.member_id, NEW.state, 1)
        ON CONFLICT (guild_id, member_id, state) DO UPDATE SET jobs = c.jobs + 1;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled') THEN
            PERFORM jobs_ledger_add(NEW, 1);
        END IF;
        PERFORM jobs_rollups_add(NEW, 1);
    ELSIF TG_OP = 'DELETE' THEN
        IF OLD.state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled') THEN
            PERFORM jobs_ledger_add(OLD, -1);
        END IF;
        PERFORM jobs_rollups_add(OLD, -1);
    ELSE
        -- Crossing the released line moves the units out of (or back into) the admitted periods.
        IF (OLD.state IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'))
           <> (NEW.state IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')) THEN
            PERFORM jobs_ledger_add(
                OLD, CASE WHEN NEW.state IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')
                          THEN -1 ELSE 1 END);
        END IF;
        IF (OLD.state IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'))
             <> (NEW.state IN ('failed', 'unconfirmed', 'timed_out', 'cancelled'))
           OR (OLD.state IN ('failed', 'unconfirmed', 'timed_out'))
             <> (NEW.state IN ('failed', 'unconfirmed', 'timed_out')) THEN
            PERFORM jobs_rollups_add(OLD, -1);
            PERFORM jobs_rollups_add(NEW, 1);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_rollups AFTER INSERT OR DELETE ON jobs FOR EACH ROW EXECUTE FUNCTION jobs_rollups();
CREATE TRIGGER jobs_rollups_state AFTER UPDATE OF state ON jobs
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION jobs_rollups();
