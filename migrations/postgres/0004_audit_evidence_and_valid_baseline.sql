-- matched_by says how each link was really made: the PodFactory matcher's
-- name/email/manual, and for Auth0 links created (rosterd made the account),
-- stored_id, employee_id (app_metadata.employee_id) or email.
ALTER TABLE auth0_employee_mapping_audit
    DROP CONSTRAINT IF EXISTS auth0_employee_mapping_audit_matched_by_check;
ALTER TABLE auth0_employee_mapping_audit
    ADD CONSTRAINT auth0_employee_mapping_audit_matched_by_check
    CHECK (matched_by IN ('name', 'email', 'manual', 'created', 'stored_id', 'employee_id'));

-- The collapsed-source baseline counts valid, distinct employees (issue 9).
-- Succeeded runs recorded raw rows: a query repeating every row, all of them
-- invalid, left a baseline no healthy run could reach. Their report knows
-- how many valid employees they planned for.
UPDATE reconcile_runs
SET employees_seen = CAST(CAST(summary AS json) -> 'stats' ->> 'employees' AS BIGINT)
WHERE status = 'succeeded' AND summary IS NOT NULL
  AND CAST(summary AS json) -> 'stats' ->> 'employees' IS NOT NULL;
