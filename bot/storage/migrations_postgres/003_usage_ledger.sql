-- Mirrors migrations/003_usage_ledger.sql by number. Each job records the UTC day and month it was
-- admitted in (for the operator's caps over all servers), so both backends hold the same job columns
-- and `python -m bot migrate` copies them. The SQLite backend also keeps a usage ledger and per-day
-- rollups; this backend still computes usage from the job rows (the global caps by time range, see
-- postgres.py _GLOBAL_USAGE_SQL).
ALTER TABLE jobs ADD COLUMN global_day_key TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN global_month_key TEXT NOT NULL DEFAULT '';
