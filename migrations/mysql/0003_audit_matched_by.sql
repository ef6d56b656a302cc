-- matched_by says how each link was really made: the PodFactory matcher's
-- name/email/manual, and for Auth0 links created (rosterd made the account),
-- stored_id, employee_id (app_metadata.employee_id) or email. MariaDB keeps a
-- column's CHECK with the column: MODIFY replaces it.
ALTER TABLE auth0_employee_mapping_audit
    MODIFY matched_by VARCHAR(16) NOT NULL CHECK (matched_by IN ('name', 'email', 'manual', 'created', 'stored_id', 'employee_id'));
