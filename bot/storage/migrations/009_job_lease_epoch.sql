-- The ownership epoch of a job (fencing token; see bot/storage/postgres.py, "job ownership"). Every
-- process that takes a job over bumps it, and the owner's writes to a job in flight only land while
-- the epoch is still the one it took. SQLite serves one process, so it never reads the column; it
-- exists so both schemas stay alike and `migrate` copies it.
ALTER TABLE jobs ADD COLUMN lease_epoch INTEGER NOT NULL DEFAULT 0;
