-- When each finding that waits for a person was first seen, so the triage
-- queue can put the newest first (issue 11). A finding that goes away and
-- comes back is new again.
CREATE TABLE IF NOT EXISTS finding_first_seen (
    finding_key    TEXT PRIMARY KEY,
    first_seen_at  TEXT NOT NULL
);
