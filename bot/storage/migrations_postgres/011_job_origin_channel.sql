-- Mirrors migrations/011_job_origin_channel.sql: the server channel a job was asked in, kept when
-- its result or failure was sent by DM because that channel became unusable (`channel_id` and
-- `message_id` then point at the DM message). NULL for every other job.
ALTER TABLE jobs ADD COLUMN origin_channel_id BIGINT;
