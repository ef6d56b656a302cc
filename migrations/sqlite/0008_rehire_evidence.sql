-- A relinked rehire (policy.possible_rehire = "relink") is recorded with
-- matched_by 'rehire'. SQLite cannot alter a CHECK: the table is rebuilt
-- with its rows and ids, as in 0004.
CREATE TABLE auth0_employee_mapping_audit_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    employee_id         BIGINT NOT NULL,
    auth0_user_id       TEXT NOT NULL,
    productivity_email  TEXT,
    podfactory_email    TEXT,
    matched_by          TEXT NOT NULL CHECK (matched_by IN ('name', 'email', 'manual', 'created', 'stored_id', 'employee_id', 'rehire')),
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

-- Lifecycle latency looks up an employee's earlier actions by run.
CREATE INDEX IF NOT EXISTS reconcile_actions_employee_run_idx ON reconcile_actions (employee_id, run_id);
