-- Placeholder: number 004 is reserved for another branch's migration, which had not landed when 006
-- did (the runner refuses gaps). That branch replaces this file with its own 004_<name>.sql.
SELECT 1;
