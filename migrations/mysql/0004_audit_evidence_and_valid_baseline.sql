-- matched_by says how each link was really made: the PodFactory matcher's
-- name/email/manual, and for Auth0 links created (rosterd made the account),
-- stored_id, employee_id (app_metadata.employee_id) or email. MariaDB keeps a
-- column's CHECK with the column: MODIFY replaces it.
ALTER TABLE auth0_employee_mapping_audit
    MODIFY matched_by VARCHAR(16) NOT NULL CHECK (matched_by IN ('name', 'email', 'manual', 'created', 'stored_id', 'employee_id'));

-- The collapsed-source baseline counts valid, distinct employees (issue 9).
-- Succeeded runs recorded raw rows: a query repeating every row, all of them
-- invalid, left a baseline no healthy run could reach. Their report knows
-- how many valid employees they planned for.
UPDATE reconcile_runs
SET employees_seen = CAST(JSON_VALUE(summary, '$.stats.employees') AS SIGNED)
WHERE status = 'succeeded' AND summary IS NOT NULL
  AND JSON_VALUE(summary, '$.stats.employees') IS NOT NULL;
