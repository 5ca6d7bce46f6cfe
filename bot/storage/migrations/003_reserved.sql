-- Placeholder: number 003 is reserved for another branch's migration, which had not landed when 006
-- did (the runner refuses gaps). That branch replaces this file with its own 003_<name>.sql.
SELECT 1;
