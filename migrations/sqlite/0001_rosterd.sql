-- rosterd's tables, and the auth0 columns on the Productivity System's
-- employees table. Works on a fresh database and on one whose employees
-- table already exists (it is only extended, never rewritten; SQLite has no ADD COLUMN IF NOT
-- EXISTS, so Store::migrate adds missing auth0 columns to an older table).

CREATE TABLE IF NOT EXISTS employees (
    id          BIGINT PRIMARY KEY,
    full_name   TEXT,
    email       TEXT,
    department  TEXT,
    workspace   TEXT,
    role_code   TEXT,
    is_active   BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at  TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    auth0_user_id    TEXT,
    auth0_linked_at  TEXT
);
CREATE INDEX IF NOT EXISTS employees_auth0_user_id_idx ON employees (auth0_user_id);

CREATE TABLE IF NOT EXISTS reconcile_runs (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger            TEXT NOT NULL,
    mode               TEXT NOT NULL,
    dry_run            BOOLEAN NOT NULL,
    status             TEXT NOT NULL,
    started_at         TEXT NOT NULL,
    finished_at        TEXT,
    employees_seen     BIGINT,
    auth0_users_seen   BIGINT,
    actions_planned    BIGINT NOT NULL DEFAULT 0,
    actions_succeeded  BIGINT NOT NULL DEFAULT 0,
    actions_failed     BIGINT NOT NULL DEFAULT 0,
    findings_count     BIGINT NOT NULL DEFAULT 0,
    plan               TEXT,
    summary            TEXT,
    error              TEXT,
    held_reason        TEXT,
    approved_at        TEXT,
    approved_by        TEXT
);
CREATE INDEX IF NOT EXISTS reconcile_runs_status_idx ON reconcile_runs (status, id);

CREATE TABLE IF NOT EXISTS reconcile_actions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id         BIGINT NOT NULL REFERENCES reconcile_runs (id) ON DELETE CASCADE,
    seq            BIGINT NOT NULL,
    kind           TEXT NOT NULL,
    employee_id    BIGINT,
    auth0_user_id  TEXT,
    reason         TEXT NOT NULL,
    detail         TEXT NOT NULL,
    status         TEXT NOT NULL,
    error          TEXT,
    finished_at    TEXT,
    UNIQUE (run_id, seq)
);

CREATE TABLE IF NOT EXISTS auth0_employee_mapping_audit (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    employee_id         BIGINT NOT NULL,
    auth0_user_id       TEXT NOT NULL,
    productivity_email  TEXT,
    podfactory_email    TEXT,
    matched_by          TEXT NOT NULL CHECK (matched_by IN ('name', 'email', 'manual')),
    matched_at          TEXT NOT NULL,
    last_verified       TEXT NOT NULL,
    created_at          TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (employee_id, auth0_user_id)
);

-- PodFactory user → employee links. A changed link is history, not an
-- overwrite: the old row gets superseded_at and a new row is added, so at
-- most one row per PodFactory user is current.
CREATE TABLE IF NOT EXISTS employee_podfactory_mapping (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    employee_id         BIGINT NOT NULL,
    podfactory_user_id  TEXT NOT NULL,
    podfactory_email    TEXT,
    podfactory_name     TEXT,
    matched_by          TEXT NOT NULL,
    confidence          REAL NOT NULL,
    created_at          TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at          TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    last_verified       TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    superseded_at       TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS employee_podfactory_mapping_current_idx
    ON employee_podfactory_mapping (podfactory_user_id) WHERE superseded_at IS NULL;
CREATE INDEX IF NOT EXISTS employee_podfactory_mapping_employee_idx ON employee_podfactory_mapping (employee_id);

-- Leader election: PostgreSQL uses an advisory lock; SQLite a lease row
-- (expires_at in UNIX seconds, so a holder that died frees it by itself).
CREATE TABLE IF NOT EXISTS rosterd_lock (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);
