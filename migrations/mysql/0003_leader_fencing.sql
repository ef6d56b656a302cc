-- Fencing the leader lock: who runs a `running` run and when it last proved
-- it still held the lock (see src/store/lock.rs). A run is closed as
-- abandoned only when its heartbeat is stale or its process is gone.
ALTER TABLE reconcile_runs ADD COLUMN holder VARCHAR(255);
ALTER TABLE reconcile_runs ADD COLUMN heartbeat_at DATETIME(6);
