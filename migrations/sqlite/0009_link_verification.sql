-- "Last verified" without rewriting every link on every run (issue 13). A
-- run that sees a link it saw last time writes nothing for it: the link is
-- flagged seen_by_latest_run and its last verification is the time of the
-- latest verifying run, one row per table in link_verification. Only a link
-- that starts or stops being seen is written (stopping, it keeps the time of
-- the last run that saw it in last_verified).
ALTER TABLE auth0_employee_mapping_audit ADD COLUMN seen_by_latest_run BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE employee_podfactory_mapping ADD COLUMN seen_by_latest_run BOOLEAN NOT NULL DEFAULT 0;
CREATE TABLE link_verification (
    links       TEXT PRIMARY KEY,
    verified_at TEXT NOT NULL
);
