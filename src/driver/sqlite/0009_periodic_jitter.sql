-- flywheel schema: a periodic's jitter (SPEC §20): each fire's job waits a stable per-slug offset below it, so
-- many schedules on the same minute (or many hosts' copies of one) do not all start at once. NULL is none.
ALTER TABLE job_periodics ADD COLUMN jitter_ms INTEGER;
