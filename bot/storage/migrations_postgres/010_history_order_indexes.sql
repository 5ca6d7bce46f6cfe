-- Mirrors migrations/010_history_order_indexes.sql by number (issue 16): /history pages straight from
-- an index in their exact order, as SQLite has them since its migration 003.
--
-- Pages are ordered by (created_at DESC, seq DESC): seq breaks ties between jobs created in the same
-- instant, and keyset pages continue after the last (created_at, seq) shown. jobs_by_member lacked seq,
-- so a member's page read the member's rows and sorted them (about 12 ms at load with 50,000 jobs in
-- the server). State-filtered pages (/history with a status, the runner's queued jobs, the /extend
-- list) get the (…, state, created_at, seq) indexes SQLite's migration 003 gave it; the old
-- (guild_id, state) index is a prefix of the new one, so the active-jobs count keeps its plan.

DROP INDEX jobs_by_member;
CREATE INDEX jobs_by_member ON jobs (guild_id, member_id, created_at, seq);
DROP INDEX jobs_by_guild_state;
CREATE INDEX jobs_by_guild_state ON jobs (guild_id, state, created_at, seq);
CREATE INDEX jobs_by_member_state ON jobs (guild_id, member_id, state, created_at, seq);
