-- Model, mode and duration of each job's request as columns (mirrors migrations/002), so render-time
-- estimates and /usage filter and group through an index. PostgreSQL only has STORED generated
-- columns; adding them rewrites the table once and fills existing rows, in-flight jobs included.

ALTER TABLE jobs
    ADD COLUMN model TEXT GENERATED ALWAYS AS (request::jsonb ->> 'model') STORED,
    ADD COLUMN mode TEXT GENERATED ALWAYS AS (request::jsonb ->> 'mode') STORED,
    ADD COLUMN duration INTEGER GENERATED ALWAYS AS ((request::jsonb ->> 'duration')::integer) STORED;

CREATE INDEX jobs_by_request_shape ON jobs (guild_id, model, mode, duration, finished_at);
