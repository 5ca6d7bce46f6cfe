-- The initial schema. Jobs are also the quota ledger: usage is derived from their states and their
-- stored day/month keys, so releasing quota is the same thing as one guarded state change.
-- Migration files hold no BEGIN/COMMIT: the runner wraps each one in its own transaction.

CREATE TABLE jobs (
    id              TEXT PRIMARY KEY,
    interaction_id  INTEGER UNIQUE,
    guild_id        INTEGER NOT NULL,
    channel_id      INTEGER NOT NULL,
    message_id      INTEGER,
    member_id       INTEGER NOT NULL,
    request         TEXT    NOT NULL CHECK (json_valid(request)),
    cost            REAL    NOT NULL CHECK (cost >= 0),
    size_limit      INTEGER NOT NULL,
    day_key         TEXT    NOT NULL,
    month_key       TEXT    NOT NULL,
    -- A misspelt state would silently count as usage forever, so the database refuses it.
    state           TEXT    NOT NULL CHECK (state IN ('queued', 'submitting', 'running', 'succeeded',
                                                      'delivered', 'failed', 'unconfirmed', 'timed_out',
                                                      'cancelled')),
    created_at      REAL    NOT NULL,
    updated_at      REAL    NOT NULL,
    task_id         TEXT,
    video_id        TEXT,
    video_url       TEXT,
    video_duration  REAL,
    error_code      TEXT,
    error_message   TEXT,
    trace_id        TEXT,
    submitted_at    REAL,
    finished_at     REAL,
    delivered_at    REAL,
    parent_job_id   TEXT REFERENCES jobs (id) ON DELETE SET NULL
);

CREATE INDEX jobs_by_guild_state ON jobs (guild_id, state);
CREATE INDEX jobs_by_member ON jobs (guild_id, member_id, created_at);
CREATE INDEX jobs_by_state ON jobs (state);
-- Usage is summed per stored period key.
CREATE INDEX jobs_by_guild_day ON jobs (guild_id, day_key);
CREATE INDEX jobs_by_guild_month ON jobs (guild_id, month_key);

CREATE TABLE guild_limits (
    guild_id    INTEGER PRIMARY KEY,
    limits      TEXT NOT NULL CHECK (json_valid(limits)),
    updated_at  REAL NOT NULL
);

-- Every reset a moderator made; a member's usage counts jobs created at or after the latest one.
CREATE TABLE member_resets (
    guild_id    INTEGER NOT NULL,
    member_id   INTEGER NOT NULL,
    reset_at    REAL    NOT NULL,
    PRIMARY KEY (guild_id, member_id, reset_at)
);
