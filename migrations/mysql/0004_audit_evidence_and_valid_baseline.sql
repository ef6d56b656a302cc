-- matched_by says how each link was really made: the PodFactory matcher's
-- name/email/manual, and for Auth0 links created (rosterd made the account),
-- stored_id, employee_id (app_metadata.employee_id) or email.
-- The column CHECK of 0001 is MariaDB's column constraint `matched_by`, which
-- only MODIFY drops, and MySQL's table constraint
-- `auth0_employee_mapping_audit_chk_1`, which only DROP CONSTRAINT drops
-- (found by name, then dropped by a prepared statement); a named table
-- constraint replaces it on both.
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
    CHECK (matched_by IN ('name', 'email', 'manual', 'created', 'stored_id', 'employee_id'));

-- The collapsed-source baseline counts valid, distinct employees (issue 9).
-- Succeeded runs recorded raw rows: a query repeating every row, all of them
-- invalid, left a baseline no healthy run could reach. Their report knows
-- how many valid employees they planned for.
UPDATE reconcile_runs
SET employees_seen = CAST(JSON_VALUE(summary, '$.stats.employees') AS SIGNED)
WHERE status = 'succeeded' AND summary IS NOT NULL
  AND JSON_VALUE(summary, '$.stats.employees') IS NOT NULL;
