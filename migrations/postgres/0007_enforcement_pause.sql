-- Paused enforcement (issue 12): a rollback blocks the accounts rosterd
-- created in a window, and the next ordinary run would unblock them again.
-- While this one row exists, runs plan and record but apply nothing, on
-- every replica, until `rosterd resume` deletes it.
CREATE TABLE IF NOT EXISTS enforcement_pause (
    id         SMALLINT PRIMARY KEY CHECK (id = 1),
    paused_at  TIMESTAMPTZ NOT NULL,
    paused_by  TEXT NOT NULL,
    reason     TEXT NOT NULL,
    -- The rollback run that paused it.
    run_id     BIGINT
);
