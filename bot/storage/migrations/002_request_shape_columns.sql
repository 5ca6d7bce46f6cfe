-- Model, mode and duration of each job's request as columns, so render-time estimates and /usage
-- filter and group through an index instead of parsing the request JSON of every row.
-- They are VIRTUAL generated columns: always equal to the stored request, nothing for the insert
-- to keep in step, and existing rows (in-flight jobs included) get them without a backfill.

ALTER TABLE jobs ADD COLUMN model TEXT GENERATED ALWAYS AS (json_extract(request, '$.model')) VIRTUAL;
ALTER TABLE jobs ADD COLUMN mode TEXT GENERATED ALWAYS AS (json_extract(request, '$.mode')) VIRTUAL;
ALTER TABLE jobs ADD COLUMN duration INTEGER GENERATED ALWAYS AS (json_extract(request, '$.duration')) VIRTUAL;

CREATE INDEX jobs_by_request_shape ON jobs (guild_id, model, mode, duration, finished_at);
