-- Placeholder: number 005 is reserved for another branch's migration, which had not landed when 006
-- did (the runner refuses gaps). That branch replaces this file with its own 005_<name>.sql.
SELECT 1;
