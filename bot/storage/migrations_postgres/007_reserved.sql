-- Placeholder mirroring migrations/007_reserved.sql: number 007 is reserved for another branch's
-- migration. Replaced by the PostgreSQL version of that migration when it lands.
SELECT 1;
