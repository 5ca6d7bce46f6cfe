-- Mirrors migrations/007_job_locale.sql: the Discord language of the member who started a job, for
-- the messages sent from the background. NULL (older jobs) means English.

ALTER TABLE jobs ADD COLUMN locale TEXT;
