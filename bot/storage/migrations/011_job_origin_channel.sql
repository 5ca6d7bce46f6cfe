-- The server channel a job was asked in, kept when its result or failure had to be sent by DM
-- because that channel became unusable (deleted, or the bot lost access). `channel_id` and
-- `message_id` then point at the DM message, so /history, the mod-log and the /usage CSV open it
-- (bot/discord_app/job_links.py), while the server's channel rules for buttons pressed on that DM
-- message still come from this channel (bot/discord_app/launch.py, `home_of`). NULL for every other
-- job: its `channel_id` is where it was asked.
ALTER TABLE jobs ADD COLUMN origin_channel_id INTEGER;
