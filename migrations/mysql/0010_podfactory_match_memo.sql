-- The last match and a fingerprint of what it was made from (issue 13): a
-- run whose matching inputs are unchanged reads the results back instead
-- of matching again (src/match_memo.rs). One row, replaced by each run
-- that matched; only a cache: deleting it costs the next run a match.
CREATE TABLE IF NOT EXISTS podfactory_match_memo (
    id          TINYINT PRIMARY KEY CHECK (id = 1),
    fingerprint VARCHAR(64) NOT NULL,
    made_at     DATETIME(6) NOT NULL,
    -- The results as gzipped JSON.
    results     LONGBLOB NOT NULL
);
