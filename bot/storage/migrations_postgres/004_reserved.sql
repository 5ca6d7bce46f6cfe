-- Placeholder mirroring migrations/004_reserved.sql: number 004 is reserved for another branch's
-- migration. Replaced by the PostgreSQL version of that migration when it lands.
SELECT 1;
