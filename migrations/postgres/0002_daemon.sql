-- The daemon: manual PodFactory mappings made by admins, an audit of admin
-- actions, and change notification so a new or edited employee gets an
-- account within seconds.

CREATE TABLE IF NOT EXISTS podfactory_manual_mappings (
    id                  BIGSERIAL PRIMARY KEY,
    podfactory_user_id  TEXT NOT NULL UNIQUE,
    employee_id         BIGINT NOT NULL,
    created_by          TEXT NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS admin_audit (
    id      BIGSERIAL PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT
);

-- One notification per statement that changes what rosterd reads; its own
-- writes (auth0_user_id, auth0_linked_at) do not notify.
CREATE OR REPLACE FUNCTION rosterd_employees_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('rosterd_employees', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS rosterd_employees_changed ON employees;
CREATE TRIGGER rosterd_employees_changed
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF full_name, email, department, workspace, role_code, is_active
    ON employees
    FOR EACH STATEMENT EXECUTE FUNCTION rosterd_employees_changed();

-- What on-call was told, so the same finding is not re-sent every run.
CREATE TABLE IF NOT EXISTS notification_log (
    finding_key    TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    first_sent_at  TIMESTAMPTZ NOT NULL,
    last_sent_at   TIMESTAMPTZ NOT NULL
);
