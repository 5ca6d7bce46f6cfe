-- Placeholder mirroring migrations/003_reserved.sql: number 003 is reserved for another branch's
-- migration. Replaced by the PostgreSQL version of that migration when it lands.
SELECT 1;
