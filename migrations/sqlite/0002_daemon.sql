-- The daemon: manual PodFactory mappings made by admins, an audit of admin
-- actions, and a change marker the daemon polls (SQLite has no NOTIFY).

CREATE TABLE IF NOT EXISTS podfactory_manual_mappings (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    podfactory_user_id  TEXT NOT NULL UNIQUE,
    employee_id         BIGINT NOT NULL,
    created_by          TEXT NOT NULL,
    created_at          TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS admin_audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT
);

CREATE TABLE IF NOT EXISTS rosterd_change_marker (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  BIGINT NOT NULL
);
INSERT OR IGNORE INTO rosterd_change_marker (id, version) VALUES (1, 0);

-- rosterd's own writes (auth0_user_id, auth0_linked_at) do not bump it.
CREATE TRIGGER IF NOT EXISTS rosterd_employees_inserted AFTER INSERT ON employees
BEGIN UPDATE rosterd_change_marker SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS rosterd_employees_deleted AFTER DELETE ON employees
BEGIN UPDATE rosterd_change_marker SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS rosterd_employees_updated
AFTER UPDATE OF full_name, email, department, workspace, role_code, is_active ON employees
BEGIN UPDATE rosterd_change_marker SET version = version + 1 WHERE id = 1; END;

-- What on-call was told, so the same finding is not re-sent every run.
CREATE TABLE IF NOT EXISTS notification_log (
    finding_key    TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    first_sent_at  TEXT NOT NULL,
    last_sent_at   TEXT NOT NULL
);
