-- The daemon: manual PodFactory mappings made by admins, an audit of admin
-- actions, and a change marker the daemon polls (MySQL has no NOTIFY). The
-- leader lock is GET_LOCK on a held connection: no table.

CREATE TABLE IF NOT EXISTS podfactory_manual_mappings (
    id                  BIGINT AUTO_INCREMENT PRIMARY KEY,
    podfactory_user_id  VARCHAR(255) NOT NULL UNIQUE,
    employee_id         BIGINT NOT NULL,
    created_by          TEXT NOT NULL,
    created_at          DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
);

CREATE TABLE IF NOT EXISTS admin_audit (
    id      BIGINT AUTO_INCREMENT PRIMARY KEY,
    at      DATETIME(6) NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT
);

CREATE TABLE IF NOT EXISTS rosterd_change_marker (
    id       INT PRIMARY KEY CHECK (id = 1),
    version  BIGINT NOT NULL
);
INSERT IGNORE INTO rosterd_change_marker (id, version) VALUES (1, 0);

-- Row triggers (MySQL has no statement triggers, nor `UPDATE OF col`): an
-- update bumps the marker only when a column rosterd reads changed, so its
-- own writes (auth0_user_id, auth0_linked_at) do not. Each body is a single
-- statement, so the file needs no DELIMITER.
CREATE TRIGGER IF NOT EXISTS rosterd_employees_inserted AFTER INSERT ON employees FOR EACH ROW
    UPDATE rosterd_change_marker SET version = version + 1 WHERE id = 1;
CREATE TRIGGER IF NOT EXISTS rosterd_employees_deleted AFTER DELETE ON employees FOR EACH ROW
    UPDATE rosterd_change_marker SET version = version + 1 WHERE id = 1;
CREATE TRIGGER IF NOT EXISTS rosterd_employees_updated AFTER UPDATE ON employees FOR EACH ROW
    UPDATE rosterd_change_marker SET version = version + 1
    WHERE id = 1 AND NOT (OLD.full_name <=> NEW.full_name AND OLD.email <=> NEW.email
        AND OLD.department <=> NEW.department AND OLD.workspace <=> NEW.workspace
        AND OLD.role_code <=> NEW.role_code AND OLD.is_active <=> NEW.is_active);

-- What on-call was told, so the same finding is not re-sent every run.
CREATE TABLE IF NOT EXISTS notification_log (
    finding_key    VARCHAR(512) PRIMARY KEY,
    kind           TEXT NOT NULL,
    first_sent_at  DATETIME(6) NOT NULL,
    last_sent_at   DATETIME(6) NOT NULL
);
