-- Mirrors migrations/009_job_lease_epoch.sql: the ownership epoch (fencing token) of a job. A
-- process that takes a job (from the queue, or over from a process that is gone) bumps it in the
-- same statement; its later writes to the job in flight carry the epoch it took and match nothing
-- once another process has taken the job over since.
ALTER TABLE jobs ADD COLUMN lease_epoch BIGINT NOT NULL DEFAULT 0;
