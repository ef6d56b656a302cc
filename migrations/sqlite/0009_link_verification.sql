-- "Last verified" without rewriting every link on every run (issue 13).
-- The links the latest verifying run saw are listed in link_seen (by row
-- id: the audit's and the PodFactory mapping's), and that run's time is in
-- link_verification, one row per kind of link. A run writes only the links
-- it sees for the first time (listed) and those it no longer sees
-- (unlisted, last_verified set to the time of the last run that saw them):
-- a run that changes nothing writes one row. Tables of their own, so that
-- the link tables (which SQLite migrations rebuild) keep their shape.
CREATE TABLE link_verification (
    links       TEXT PRIMARY KEY,
    verified_at TEXT NOT NULL
);
CREATE TABLE link_seen (
    links   TEXT NOT NULL,
    row_id  BIGINT NOT NULL,
    PRIMARY KEY (links, row_id)
);
