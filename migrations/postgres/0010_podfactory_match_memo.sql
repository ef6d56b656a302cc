-- The last match and a fingerprint of what it was made from (issue 13): a
-- run whose matching inputs are unchanged reads the results back instead
-- of matching again (src/match_memo.rs). One row, replaced by each run
-- that matched; only a cache: deleting it costs the next run a match.
CREATE TABLE IF NOT EXISTS podfactory_match_memo (
    id          SMALLINT PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT NOT NULL,
    made_at     TIMESTAMPTZ NOT NULL,
    -- The results as gzipped JSON.
    results     BYTEA NOT NULL
);
