-- Placeholder mirroring migrations/005_reserved.sql: number 005 is reserved for another branch's
-- migration. Replaced by the PostgreSQL version of that migration when it lands.
SELECT 1;
