-- The Discord language (`interaction.locale`, e.g. `ja`, `zh-CN`, `en-US`) of the member who started
-- a job, so the messages sent from the background (progress, result, failure and their buttons) speak
-- it too. Jobs from before this migration have none and are shown in English.

ALTER TABLE jobs ADD COLUMN locale TEXT;
