-- matched_by says how each link was really made: the PodFactory matcher's
-- name/email/manual, and for Auth0 links created (rosterd made the account),
-- stored_id, employee_id (app_metadata.employee_id) or email.
ALTER TABLE auth0_employee_mapping_audit
    DROP CONSTRAINT IF EXISTS auth0_employee_mapping_audit_matched_by_check;
ALTER TABLE auth0_employee_mapping_audit
    ADD CONSTRAINT auth0_employee_mapping_audit_matched_by_check
    CHECK (matched_by IN ('name', 'email', 'manual', 'created', 'stored_id', 'employee_id'));
