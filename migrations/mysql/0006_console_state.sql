-- The operator console's own state (issue 11).

-- When each finding that waits for a person was first seen, so the triage
-- queue can put the newest first (issue 11). A finding that goes away and
-- comes back is new again.
CREATE TABLE IF NOT EXISTS finding_first_seen (
    -- SHA-256 (hex) of the finding's key: keys can be long and differ only
    -- in case or accents, which a collation or an index length would merge.
    finding_hash   CHAR(64) PRIMARY KEY,
    first_seen_at  DATETIME(6) NOT NULL
);

-- Console sessions signed out before they expire (a session is a signed
-- cookie: a kept copy would outlive "Sign out" without this). Rows go once
-- the session would have expired anyway. Shared by every replica.
CREATE TABLE IF NOT EXISTS console_signouts (
    session_id  VARCHAR(64) PRIMARY KEY,
    expires_at  BIGINT NOT NULL  -- UNIX seconds
);
