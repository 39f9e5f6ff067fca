-- flywheel schema v5: what a schedule's runs came to (SPEC §20): the last run's job, outcome, exit code and
-- duration, when it last succeeded, how many runs in a row failed (alerts fire on the change), and who paused
-- it (an operator's pause survives the config reconcile at the next start).
ALTER TABLE job_periodics ADD COLUMN last_job_id TEXT;
ALTER TABLE job_periodics ADD COLUMN last_outcome TEXT;
ALTER TABLE job_periodics ADD COLUMN last_exit_code INTEGER;
ALTER TABLE job_periodics ADD COLUMN last_duration_ms INTEGER;
ALTER TABLE job_periodics ADD COLUMN last_finished_at INTEGER;
ALTER TABLE job_periodics ADD COLUMN last_success_at INTEGER;
ALTER TABLE job_periodics ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE job_periodics ADD COLUMN paused_by TEXT;
