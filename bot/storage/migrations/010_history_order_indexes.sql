-- Mirrors migrations_postgres/010_history_order_indexes.sql by number (issue 16). Nothing changes in
-- SQLite: /history pages order by (created_at, rowid), and every SQLite index ends in the rowid, so
-- jobs_by_member (guild_id, member_id, created_at), jobs_by_guild_state and jobs_by_member_state
-- (migration 003) already hand out pages in that order without sorting (EXPLAIN QUERY PLAN shows no
-- temp b-tree; tests/test_query_plans.py checks it). PostgreSQL orders by (created_at, seq) and needs
-- seq in its indexes, which is what its migration 010 adds.
SELECT 1;
