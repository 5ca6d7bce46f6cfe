-- The initial schema, mirroring migrations/001_initial.sql for PostgreSQL. Jobs are also the quota
-- ledger: usage is derived from their states and their stored day/month keys.
-- Migration files hold no BEGIN/COMMIT: the runner wraps each one in its own transaction.
-- Discord snowflakes fit in BIGINT (they stay below 2^63); times are Unix seconds as DOUBLE PRECISION
-- like SQLite's REAL. `seq` plays SQLite's rowid: the insertion order that breaks created_at ties.

CREATE TABLE jobs (
    id              TEXT PRIMARY KEY,
    seq             BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    interaction_id  BIGINT UNIQUE,
    guild_id        BIGINT NOT NULL,
    channel_id      BIGINT NOT NULL,
    message_id      BIGINT,
    member_id       BIGINT NOT NULL,
    request         TEXT   NOT NULL CHECK (request::jsonb IS NOT NULL),
    cost            DOUBLE PRECISION NOT NULL CHECK (cost >= 0),
    size_limit      BIGINT NOT NULL,
    day_key         TEXT   NOT NULL,
    month_key       TEXT   NOT NULL,
    -- A misspelt state would silently count as usage forever, so the database refuses it.
    state           TEXT   NOT NULL CHECK (state IN ('queued', 'submitting', 'running', 'succeeded',
                                                     'delivered', 'failed', 'unconfirmed', 'timed_out',
                                                     'cancelled')),
    created_at      DOUBLE PRECISION NOT NULL,
    updated_at      DOUBLE PRECISION NOT NULL,
    task_id         TEXT,
    video_id        TEXT,
    video_url       TEXT,
    video_duration  DOUBLE PRECISION,
    error_code      TEXT,
    error_message   TEXT,
    trace_id        TEXT,
    submitted_at    DOUBLE PRECISION,
    finished_at     DOUBLE PRECISION,
    delivered_at    DOUBLE PRECISION,
    -- Deferrable so `python -m bot migrate` can copy a child before its parent within one transaction.
    parent_job_id   TEXT REFERENCES jobs (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE
);

CREATE INDEX jobs_by_guild_state ON jobs (guild_id, state);
CREATE INDEX jobs_by_member ON jobs (guild_id, member_id, created_at);
CREATE INDEX jobs_by_state ON jobs (state);
CREATE INDEX jobs_by_guild_day ON jobs (guild_id, day_key);
CREATE INDEX jobs_by_guild_month ON jobs (guild_id, month_key);
CREATE INDEX jobs_by_guild_created ON jobs (guild_id, created_at, seq);
-- Recovery looks jobs up by AceData task id (known_task_ids, adopt_task).
CREATE INDEX jobs_by_task ON jobs (task_id);

CREATE TABLE guild_limits (
    guild_id    BIGINT PRIMARY KEY,
    limits      TEXT NOT NULL CHECK (limits::jsonb IS NOT NULL),
    updated_at  DOUBLE PRECISION NOT NULL
);

-- Every reset a moderator made; a member's usage counts jobs created at or after the latest one.
CREATE TABLE member_resets (
    guild_id    BIGINT NOT NULL,
    member_id   BIGINT NOT NULL,
    reset_at    DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (guild_id, member_id, reset_at)
);
