-- Placeholder: number 008 is reserved for another branch's migration, which had not landed when 009
-- did (the runner refuses gaps). That branch replaces this file with its own 008_<name>.sql.
SELECT 1;
