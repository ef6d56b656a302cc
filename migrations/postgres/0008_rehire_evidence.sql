-- A relinked rehire (policy.possible_rehire = "relink") is recorded with
-- matched_by 'rehire'.
ALTER TABLE auth0_employee_mapping_audit
    DROP CONSTRAINT IF EXISTS auth0_employee_mapping_audit_matched_by_check;
ALTER TABLE auth0_employee_mapping_audit
    ADD CONSTRAINT auth0_employee_mapping_audit_matched_by_check
    CHECK (matched_by IN ('name', 'email', 'manual', 'created', 'stored_id', 'employee_id', 'rehire'));

-- Lifecycle latency looks up an employee's earlier actions by run.
CREATE INDEX IF NOT EXISTS reconcile_actions_employee_run_idx ON reconcile_actions (employee_id, run_id);
