-- Members' own saved defaults (the server's live in guild_limits' JSON), and the story links of
-- "Next shot": which shot a job continues from. jobs.parent_job_id stays what it was (the job a
-- Rerun, Remix or Extend came from); a story is the chain of story_links only, so a rerun never
-- joins a story by accident. A separate table, not a jobs column, so the jobs row is unchanged.

CREATE TABLE member_defaults (
    guild_id      INTEGER NOT NULL,
    member_id     INTEGER NOT NULL,
    model         TEXT,
    mode          TEXT,
    duration      INTEGER,
    aspect_ratio  TEXT,
    updated_at    REAL NOT NULL,
    PRIMARY KEY (guild_id, member_id)
);

CREATE TABLE story_links (
    job_id     TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    parent_id  TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE
);
