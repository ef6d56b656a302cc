-- rosterd's tables, and the auth0 columns on the Productivity System's
-- employees table. Works on a fresh database and on one whose employees
-- table already exists (it is only extended, never rewritten).
--
-- Runs on MariaDB (10.5 and later) and MySQL (8.0.29 and later): no
-- `ADD COLUMN IF NOT EXISTS` nor `CREATE INDEX IF NOT EXISTS` (MariaDB's
-- alone). An employees table that already exists gets its auth0 columns and
-- index from Store::migrate, which looks first.
-- Times are DATETIME(6) holding UTC (sqlx binds chrono::DateTime<Utc> as
-- UTC); not TIMESTAMP, which MariaDB may give an implicit
-- `ON UPDATE CURRENT_TIMESTAMP`. Indexed text is VARCHAR(255): TEXT cannot
-- be a key without a prefix length. `trigger` is a reserved word here.

CREATE TABLE IF NOT EXISTS employees (
    id          BIGINT PRIMARY KEY,
    full_name   TEXT,
    email       TEXT,
    department  TEXT,
    workspace   TEXT,
    role_code   TEXT,
    is_active   BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    auth0_user_id    VARCHAR(255),
    auth0_linked_at  DATETIME(6),
    INDEX employees_auth0_user_id_idx (auth0_user_id)
);

CREATE TABLE IF NOT EXISTS reconcile_runs (
    id                 BIGINT AUTO_INCREMENT PRIMARY KEY,
    `trigger`          TEXT NOT NULL,
    mode               TEXT NOT NULL,
    dry_run            BOOLEAN NOT NULL,
    status             VARCHAR(255) NOT NULL,
    started_at         DATETIME(6) NOT NULL,
    finished_at        DATETIME(6),
    employees_seen     BIGINT,
    auth0_users_seen   BIGINT,
    actions_planned    BIGINT NOT NULL DEFAULT 0,
    actions_succeeded  BIGINT NOT NULL DEFAULT 0,
    actions_failed     BIGINT NOT NULL DEFAULT 0,
    findings_count     BIGINT NOT NULL DEFAULT 0,
    plan               LONGTEXT,
    summary            LONGTEXT,
    error              TEXT,
    held_reason        TEXT,
    approved_at        DATETIME(6),
    approved_by        TEXT,
    INDEX reconcile_runs_status_idx (status, id)
);

CREATE TABLE IF NOT EXISTS reconcile_actions (
    id             BIGINT AUTO_INCREMENT PRIMARY KEY,
    run_id         BIGINT NOT NULL,
    seq            BIGINT NOT NULL,
    kind           TEXT NOT NULL,
    employee_id    BIGINT,
    auth0_user_id  TEXT,
    reason         TEXT NOT NULL,
    detail         LONGTEXT NOT NULL,
    status         TEXT NOT NULL,
    error          TEXT,
    finished_at    DATETIME(6),
    UNIQUE (run_id, seq),
    INDEX reconcile_actions_employee_idx (employee_id),
    FOREIGN KEY (run_id) REFERENCES reconcile_runs (id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS auth0_employee_mapping_audit (
    id                  BIGINT AUTO_INCREMENT PRIMARY KEY,
    employee_id         BIGINT NOT NULL,
    auth0_user_id       VARCHAR(255) NOT NULL,
    productivity_email  TEXT,
    podfactory_email    TEXT,
    matched_by          VARCHAR(16) NOT NULL CHECK (matched_by IN ('name', 'email', 'manual')),
    matched_at          DATETIME(6) NOT NULL,
    last_verified       DATETIME(6) NOT NULL,
    created_at          DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    UNIQUE (employee_id, auth0_user_id)
);

-- PodFactory user → employee links. A changed link is history, not an
-- overwrite: the old row gets superseded_at and a new row is added, so at
-- most one row per PodFactory user is current. No partial indexes here:
-- `current_key` is the user id on the current row and NULL on history, and
-- a UNIQUE index allows any number of NULLs.
CREATE TABLE IF NOT EXISTS employee_podfactory_mapping (
    id                  BIGINT AUTO_INCREMENT PRIMARY KEY,
    employee_id         BIGINT NOT NULL,
    podfactory_user_id  VARCHAR(255) NOT NULL,
    podfactory_email    TEXT,
    podfactory_name     TEXT,
    matched_by          TEXT NOT NULL,
    confidence          DOUBLE NOT NULL,
    created_at          DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at          DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    last_verified       DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    superseded_at       DATETIME(6),
    current_key         VARCHAR(255) AS (IF(superseded_at IS NULL, podfactory_user_id, NULL)) STORED,
    UNIQUE INDEX employee_podfactory_mapping_current_idx (current_key),
    INDEX employee_podfactory_mapping_user_idx (podfactory_user_id),
    INDEX employee_podfactory_mapping_employee_idx (employee_id)
);
