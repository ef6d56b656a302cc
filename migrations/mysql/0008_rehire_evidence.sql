-- A relinked rehire (policy.possible_rehire = "relink") is recorded with
-- matched_by 'rehire'. As in 0004: a database the MariaDB-only migrations
-- made holds a column CHECK, which only MODIFY drops; a table CHECK is found
-- by name and dropped; then the named constraint is added again.
ALTER TABLE auth0_employee_mapping_audit MODIFY matched_by VARCHAR(16) NOT NULL;
SET @rosterd_ddl = (SELECT IFNULL(MAX(CONCAT('ALTER TABLE auth0_employee_mapping_audit DROP CONSTRAINT `',
        CONSTRAINT_NAME, '`')), 'DO 0')
    FROM information_schema.TABLE_CONSTRAINTS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'auth0_employee_mapping_audit'
      AND CONSTRAINT_TYPE = 'CHECK');
PREPARE rosterd_ddl FROM @rosterd_ddl;
EXECUTE rosterd_ddl;
DEALLOCATE PREPARE rosterd_ddl;
ALTER TABLE auth0_employee_mapping_audit ADD CONSTRAINT auth0_employee_mapping_audit_matched_by
    CHECK (matched_by IN ('name', 'email', 'manual', 'created', 'stored_id', 'employee_id', 'rehire'));

-- Lifecycle latency looks up an employee's earlier actions by run.
CREATE INDEX reconcile_actions_employee_run_idx ON reconcile_actions (employee_id, run_id);
