-- Mirrors migrations/006_member_defaults_and_stories.sql: members' own saved defaults, and the
-- story links of "Next shot" (which shot a job continues from), in their own table.

CREATE TABLE member_defaults (
    guild_id      BIGINT NOT NULL,
    member_id     BIGINT NOT NULL,
    model         TEXT,
    mode          TEXT,
    duration      INTEGER,
    aspect_ratio  TEXT,
    updated_at    DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (guild_id, member_id)
);

CREATE TABLE story_links (
    job_id     TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
    parent_id  TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE
);
CREATE INDEX story_links_by_parent ON story_links (parent_id);
