-- flywheel schema v4: durable workflows (SPEC §17). A job may wait (`waiting`: for a sleep, events or its
-- children) and an attempt may end `suspended`. A waiting job sits in `jobs_ready` with `scheduled_at` at its
-- wake time (far in the future when it waits without a deadline), so the claim wakes it on time with the index
-- walk it already does; `wake_seq` moves whenever something it may wait for happens (an event, a child's end),
-- which a suspending attempt compares against what it saw, so no wake-up is lost to a race.
ALTER TABLE jobs
  ADD COLUMN root_job_id text,
  ADD COLUMN wait_reason text CHECK (wait_reason IN ('sleep','event','children')),
  ADD COLUMN wake_at timestamptz,
  ADD COLUMN wake_seq integer NOT NULL DEFAULT 0,
  DROP CONSTRAINT jobs_state_check,
  ADD CONSTRAINT jobs_state_check CHECK (state IN ('available','scheduled','running','retryable','waiting','succeeded','cancelled','discarded'));
DROP INDEX jobs_ready;
CREATE INDEX jobs_ready ON jobs (queue, priority, scheduled_at, id)
  WHERE state IN ('available','scheduled','retryable','waiting') AND deleted_at IS NULL;
DROP INDEX jobs_unique_active_key;
CREATE UNIQUE INDEX jobs_unique_active_key ON jobs (unique_active_key)
  WHERE unique_active_key IS NOT NULL AND state IN ('available','scheduled','running','retryable','waiting');
CREATE INDEX jobs_root ON jobs (root_job_id) WHERE root_job_id IS NOT NULL;

ALTER TABLE job_runs
  DROP CONSTRAINT job_runs_outcome_check,
  ADD CONSTRAINT job_runs_outcome_check
    CHECK (outcome IN ('started','success','error','timeout','snooze','suspended','cancelled','crashed','superseded'));

-- A workflow's memoized steps (and its sleeps, waits and spawned children), one row per (job, key).
CREATE TABLE job_steps (
  job_id      text NOT NULL,
  step_key    text NOT NULL,
  status      text NOT NULL CHECK (status IN ('started','waiting','completed','failed','skipped')),
  output      jsonb,
  error       text,
  attempts    integer NOT NULL DEFAULT 0,
  run_id      text,
  wake_at     timestamptz,
  started_at  timestamptz,
  finished_at timestamptz,
  PRIMARY KEY (job_id, step_key)
);

-- The event names a waiting job waits for, so an emit knows whether to wake it; `attempt` is the attempt that
-- suspended to wait, so names an earlier wait left behind never wake a later one.
CREATE TABLE job_waits (
  job_id  text NOT NULL,
  name    text NOT NULL,
  attempt integer NOT NULL,
  PRIMARY KEY (job_id, name)
);

-- Events are latches: one payload per (job, name); emitting again overwrites it.
CREATE TABLE job_events (
  job_id     text NOT NULL,
  name       text NOT NULL,
  payload    jsonb,
  emitted_at timestamptz NOT NULL,
  PRIMARY KEY (job_id, name)
);
