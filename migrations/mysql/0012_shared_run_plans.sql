-- One stored copy of each distinct plan (issue 13): a plan holds the run's
-- findings, 17 MB at 100,000 PodFactory users, and a run that changes
-- nothing plans what the run before it planned. Runs name their plan by
-- the SHA-256 of its JSON (`plan_digest`); runs with the same plan share
-- one `run_plans` row, deleted once no run names it. Plans stored before
-- this migration keep a digest of their own ('run-' and the run's id).
-- Digests are ASCII and compared across the two tables: one collation for
-- both, whatever the database's default.
CREATE TABLE IF NOT EXISTS run_plans (
    digest VARCHAR(64) CHARACTER SET ascii COLLATE ascii_general_ci PRIMARY KEY,
    plan   LONGTEXT NOT NULL
);
-- A copy a run names cannot be deleted under it (retention racing a
-- run's close).
ALTER TABLE reconcile_runs ADD COLUMN plan_digest VARCHAR(64) CHARACTER SET ascii COLLATE ascii_general_ci,
    ADD CONSTRAINT reconcile_runs_plan_digest_fk FOREIGN KEY (plan_digest) REFERENCES run_plans (digest);
INSERT INTO run_plans (digest, plan)
    SELECT CONCAT('run-', id), plan FROM reconcile_runs WHERE plan IS NOT NULL;
UPDATE reconcile_runs SET plan_digest = CONCAT('run-', id) WHERE plan IS NOT NULL;
-- The old column stays, emptied, for replicas still on the previous
-- release during an upgrade (they read and write it); a later release
-- drops it.
UPDATE reconcile_runs SET plan = NULL WHERE plan IS NOT NULL;
