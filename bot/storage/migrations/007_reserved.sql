-- Placeholder: number 007 is reserved for another branch's migration, which had not landed when 008
-- did (the runner refuses gaps). That branch replaces this file with its own 007_<name>.sql.
SELECT 1;
