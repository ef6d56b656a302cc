-- Fencing the leader lock: who runs a `running` run and when it last proved
-- it still held the lock (see src/store/lock.rs). A run is closed as
-- abandoned only when its heartbeat is stale or its process is gone.
ALTER TABLE reconcile_runs ADD COLUMN IF NOT EXISTS holder TEXT;
ALTER TABLE reconcile_runs ADD COLUMN IF NOT EXISTS heartbeat_at TIMESTAMPTZ;

-- A change marker next to NOTIFY: a listener that lost its connection
-- compares it to the value it last saw, and starts a catch-up run only when
-- a change may have been missed.
CREATE TABLE IF NOT EXISTS rosterd_change_marker (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  BIGINT NOT NULL
);
INSERT INTO rosterd_change_marker (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;

-- SECURITY DEFINER: the application writing employees need not be granted
-- rosterd's marker table; the search path is pinned to rosterd's.
CREATE OR REPLACE FUNCTION rosterd_employees_changed() RETURNS trigger AS $$
BEGIN
    UPDATE rosterd_change_marker SET version = version + 1 WHERE id = 1;
    PERFORM pg_notify('rosterd_employees', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT;
