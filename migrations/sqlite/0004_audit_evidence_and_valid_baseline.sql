-- matched_by says how each link was really made: the PodFactory matcher's
-- name/email/manual, and for Auth0 links created (rosterd made the account),
-- stored_id, employee_id (app_metadata.employee_id) or email. SQLite cannot
-- alter a CHECK: the table is rebuilt with its rows and ids.
CREATE TABLE auth0_employee_mapping_audit_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    employee_id         BIGINT NOT NULL,
    auth0_user_id       TEXT NOT NULL,
    productivity_email  TEXT,
    podfactory_email    TEXT,
    matched_by          TEXT NOT NULL CHECK (matched_by IN ('name', 'email', 'manual', 'created', 'stored_id', 'employee_id')),
    matched_at          TEXT NOT NULL,
    last_verified       TEXT NOT NULL,
    created_at          TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (employee_id, auth0_user_id)
);
INSERT INTO auth0_employee_mapping_audit_new
    SELECT id, employee_id, auth0_user_id, productivity_email, podfactory_email,
           matched_by, matched_at, last_verified, created_at
    FROM auth0_employee_mapping_audit;
DROP TABLE auth0_employee_mapping_audit;
ALTER TABLE auth0_employee_mapping_audit_new RENAME TO auth0_employee_mapping_audit;

-- The collapsed-source baseline counts valid, distinct employees (issue 9).
-- Succeeded runs recorded raw rows: a query repeating every row, all of them
-- invalid, left a baseline no healthy run could reach. Their report knows
-- how many valid employees they planned for.
UPDATE reconcile_runs
SET employees_seen = CAST(json_extract(summary, '$.stats.employees') AS INTEGER)
WHERE status = 'succeeded' AND summary IS NOT NULL
  AND json_extract(summary, '$.stats.employees') IS NOT NULL;
