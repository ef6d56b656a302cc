-- Stored plans are kept for the newest runs only (issue 13): a plan holds
-- the run's findings, 17 MB at 100,000 PodFactory users, and every run
-- stored one for good. Older runs keep their row and summary; their plan is
-- dropped, and when, so the console can say "not kept" rather than "never
-- planned". A held run keeps its plan until it is decided.
ALTER TABLE reconcile_runs ADD COLUMN IF NOT EXISTS plan_dropped_at TIMESTAMPTZ;
