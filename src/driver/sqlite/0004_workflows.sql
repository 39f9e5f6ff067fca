-- flywheel schema v4: durable workflows (SPEC §17). A job may wait (`waiting`: for a sleep, events or its
-- children) and an attempt may end `suspended`; SQLite cannot change a CHECK constraint in place, so `jobs` and
-- `job_runs` are rebuilt with the new values (the documented 12-step procedure, inside the migration's
-- transaction). A waiting job sits in `jobs_ready` with `scheduled_at` at its wake time (far in the future when it
-- waits without a deadline), so the claim wakes it on time with the index walk it already does; `wake_seq` moves
-- whenever something it may wait for happens (an event, a child's end), which a suspending attempt compares
-- against what it saw, so no wake-up is lost to a race.
CREATE TABLE jobs_v4 (
  id                TEXT PRIMARY KEY,
  kind              TEXT NOT NULL,
  queue             TEXT NOT NULL DEFAULT 'default',
  args              TEXT NOT NULL DEFAULT '{}',
  priority          INTEGER NOT NULL DEFAULT 100,
  state             TEXT NOT NULL CHECK (state IN ('available','scheduled','running','retryable','waiting','succeeded','cancelled','discarded')),
  attempt           INTEGER NOT NULL DEFAULT 0,
  max_attempts      INTEGER NOT NULL DEFAULT 25,
  timeout_ms        INTEGER,
  scheduled_at      INTEGER NOT NULL,
  leased_until      INTEGER,
  lease_token       TEXT,
  unique_key        TEXT,
  unique_active_key TEXT,
  parent_job_id     TEXT,
  executor_class    TEXT NOT NULL DEFAULT '',
  tags              TEXT NOT NULL DEFAULT '[]',
  metadata          TEXT NOT NULL DEFAULT '{}',
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL,
  finalized_at      INTEGER,
  deleted_at        INTEGER,
  root_job_id       TEXT,
  wait_reason       TEXT CHECK (wait_reason IN ('sleep','event','children')),
  wake_at           INTEGER,
  wake_seq          INTEGER NOT NULL DEFAULT 0
);
INSERT INTO jobs_v4 (id, kind, queue, args, priority, state, attempt, max_attempts, timeout_ms, scheduled_at, leased_until,
  lease_token, unique_key, unique_active_key, parent_job_id, executor_class, tags, metadata, created_at, updated_at,
  finalized_at, deleted_at)
SELECT id, kind, queue, args, priority, state, attempt, max_attempts, timeout_ms, scheduled_at, leased_until,
  lease_token, unique_key, unique_active_key, parent_job_id, executor_class, tags, metadata, created_at, updated_at,
  finalized_at, deleted_at
FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_v4 RENAME TO jobs;
CREATE INDEX jobs_ready ON jobs (queue, priority, scheduled_at, id)
  WHERE state IN ('available','scheduled','retryable','waiting') AND deleted_at IS NULL;
CREATE UNIQUE INDEX jobs_unique_key ON jobs (unique_key) WHERE unique_key IS NOT NULL;
CREATE UNIQUE INDEX jobs_unique_active_key ON jobs (unique_active_key)
  WHERE unique_active_key IS NOT NULL AND state IN ('available','scheduled','running','retryable','waiting');
CREATE INDEX jobs_sweep ON jobs (leased_until) WHERE state = 'running';
CREATE INDEX jobs_parent ON jobs (parent_job_id) WHERE parent_job_id IS NOT NULL;
CREATE INDEX jobs_root ON jobs (root_job_id) WHERE root_job_id IS NOT NULL;
CREATE INDEX jobs_finalized ON jobs (finalized_at) WHERE finalized_at IS NOT NULL;
CREATE INDEX jobs_failed ON jobs (state, id) WHERE state IN ('discarded', 'cancelled');

CREATE TABLE job_runs_v4 (
  id                TEXT PRIMARY KEY,
  job_id            TEXT NOT NULL,
  attempt           INTEGER NOT NULL,
  executor_class    TEXT NOT NULL DEFAULT '',
  executor_id       TEXT NOT NULL,
  started_at        INTEGER NOT NULL,
  finished_at       INTEGER,
  outcome           TEXT NOT NULL CHECK (outcome IN ('started','success','error','timeout','snooze','suspended','cancelled','crashed','superseded')),
  error_class       TEXT,
  error_message     TEXT,
  output            TEXT,
  duration_ms       INTEGER,
  cost_micros       INTEGER,
  enqueued_children INTEGER NOT NULL DEFAULT 0,
  created_at        INTEGER NOT NULL,
  UNIQUE (job_id, attempt)
);
INSERT INTO job_runs_v4 SELECT * FROM job_runs;
DROP TABLE job_runs;
ALTER TABLE job_runs_v4 RENAME TO job_runs;

-- A workflow's memoized steps (and its sleeps, waits and spawned children), one row per (job, key).
CREATE TABLE job_steps (
  job_id      TEXT NOT NULL,
  step_key    TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('started','waiting','completed','failed','skipped')),
  output      TEXT,
  error       TEXT,
  attempts    INTEGER NOT NULL DEFAULT 0,
  run_id      TEXT,
  wake_at     INTEGER,
  started_at  INTEGER,
  finished_at INTEGER,
  PRIMARY KEY (job_id, step_key)
) WITHOUT ROWID;

-- The event names a waiting job waits for, so an emit knows whether to wake it; `attempt` is the attempt that
-- suspended to wait, so names an earlier wait left behind never wake a later one.
CREATE TABLE job_waits (
  job_id  TEXT NOT NULL,
  name    TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  PRIMARY KEY (job_id, name)
) WITHOUT ROWID;

-- Events are latches: one payload per (job, name); emitting again overwrites it.
CREATE TABLE job_events (
  job_id     TEXT NOT NULL,
  name       TEXT NOT NULL,
  payload    TEXT,
  emitted_at INTEGER NOT NULL,
  PRIMARY KEY (job_id, name)
) WITHOUT ROWID;
