-- rosterd's tables, and the auth0 columns on the Productivity System's
-- employees table. Works on a fresh database and on one whose employees
-- table already exists (it is only extended, never rewritten).

CREATE TABLE IF NOT EXISTS employees (
    id          BIGINT PRIMARY KEY,
    full_name   TEXT,
    email       TEXT,
    department  TEXT,
    workspace   TEXT,
    role_code   TEXT,
    is_active   BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE employees ADD COLUMN IF NOT EXISTS auth0_user_id TEXT;
ALTER TABLE employees ADD COLUMN IF NOT EXISTS auth0_linked_at TIMESTAMPTZ;
CREATE INDEX IF NOT EXISTS employees_auth0_user_id_idx ON employees (auth0_user_id);

CREATE TABLE IF NOT EXISTS reconcile_runs (
    id                 BIGSERIAL PRIMARY KEY,
    trigger            TEXT NOT NULL,
    mode               TEXT NOT NULL,
    dry_run            BOOLEAN NOT NULL,
    status             TEXT NOT NULL,
    started_at         TIMESTAMPTZ NOT NULL,
    finished_at        TIMESTAMPTZ,
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
    approved_at        TIMESTAMPTZ,
    approved_by        TEXT
);
CREATE INDEX IF NOT EXISTS reconcile_runs_status_idx ON reconcile_runs (status, id);

CREATE TABLE IF NOT EXISTS reconcile_actions (
    id             BIGSERIAL PRIMARY KEY,
    run_id         BIGINT NOT NULL REFERENCES reconcile_runs (id) ON DELETE CASCADE,
    seq            BIGINT NOT NULL,
    kind           TEXT NOT NULL,
    employee_id    BIGINT,
    auth0_user_id  TEXT,
    reason         TEXT NOT NULL,
    detail         TEXT NOT NULL,
    status         TEXT NOT NULL,
    error          TEXT,
    finished_at    TIMESTAMPTZ,
    UNIQUE (run_id, seq)
);

CREATE TABLE IF NOT EXISTS auth0_employee_mapping_audit (
    id                  BIGSERIAL PRIMARY KEY,
    employee_id         BIGINT NOT NULL,
    auth0_user_id       TEXT NOT NULL,
    productivity_email  TEXT,
    podfactory_email    TEXT,
    matched_by          TEXT NOT NULL CHECK (matched_by IN ('name', 'email', 'manual')),
    matched_at          TIMESTAMPTZ NOT NULL,
    last_verified       TIMESTAMPTZ NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (employee_id, auth0_user_id)
);

-- PodFactory user → employee links. A changed link is history, not an
-- overwrite: the old row gets superseded_at and a new row is added, so at
-- most one row per PodFactory user is current.
CREATE TABLE IF NOT EXISTS employee_podfactory_mapping (
    id                  BIGSERIAL PRIMARY KEY,
    employee_id         BIGINT NOT NULL,
    podfactory_user_id  TEXT NOT NULL,
    podfactory_email    TEXT,
    podfactory_name     TEXT,
    matched_by          TEXT NOT NULL,
    confidence          DOUBLE PRECISION NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_verified       TIMESTAMPTZ NOT NULL DEFAULT now(),
    superseded_at       TIMESTAMPTZ
);
CREATE UNIQUE INDEX IF NOT EXISTS employee_podfactory_mapping_current_idx
    ON employee_podfactory_mapping (podfactory_user_id) WHERE superseded_at IS NULL;
CREATE INDEX IF NOT EXISTS employee_podfactory_mapping_employee_idx ON employee_podfactory_mapping (employee_id);
