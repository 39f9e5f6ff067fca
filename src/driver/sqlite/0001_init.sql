-- flywheel schema v1 (SQLite). Timestamps are integer milliseconds since the Unix epoch, written from the
-- runtime's clock; JSON columns hold text.
CREATE TABLE jobs (
  id                TEXT PRIMARY KEY,
  kind              TEXT NOT NULL,
  queue             TEXT NOT NULL DEFAULT 'default',
  args              TEXT NOT NULL DEFAULT '{}',
  priority          INTEGER NOT NULL DEFAULT 100,
  state             TEXT NOT NULL CHECK (state IN ('available','scheduled','running','retryable','succeeded','cancelled','discarded')),
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
  deleted_at        INTEGER
);

-- The claim walks this index in (priority, scheduled_at, id) order for one queue; it never sorts the backlog.
CREATE INDEX jobs_ready ON jobs (queue, priority, scheduled_at, id)
  WHERE state IN ('available','scheduled','retryable') AND deleted_at IS NULL;
CREATE UNIQUE INDEX jobs_unique_key ON jobs (unique_key) WHERE unique_key IS NOT NULL;
CREATE UNIQUE INDEX jobs_unique_active_key ON jobs (unique_active_key)
  WHERE unique_active_key IS NOT NULL AND state IN ('available','scheduled','running','retryable');
CREATE INDEX jobs_sweep ON jobs (leased_until) WHERE state = 'running';
CREATE INDEX jobs_parent ON jobs (parent_job_id) WHERE parent_job_id IS NOT NULL;
CREATE INDEX jobs_state ON jobs (state, kind);
CREATE INDEX jobs_finalized ON jobs (finalized_at) WHERE finalized_at IS NOT NULL;

CREATE TABLE job_runs (
  id                TEXT PRIMARY KEY,
  job_id            TEXT NOT NULL,
  attempt           INTEGER NOT NULL,
  executor_class    TEXT NOT NULL DEFAULT '',
  executor_id       TEXT NOT NULL,
  started_at        INTEGER NOT NULL,
  finished_at       INTEGER,
  outcome           TEXT NOT NULL CHECK (outcome IN ('started','success','error','timeout','snooze','cancelled','crashed','superseded')),
  error_class       TEXT,
  error_message     TEXT,
  output            TEXT,
  duration_ms       INTEGER,
  cost_micros       INTEGER,
  enqueued_children INTEGER NOT NULL DEFAULT 0,
  created_at        INTEGER NOT NULL,
  UNIQUE (job_id, attempt)
);

CREATE TABLE job_periodics (
  id                TEXT PRIMARY KEY,
  slug              TEXT NOT NULL UNIQUE,
  kind              TEXT NOT NULL,
  queue             TEXT NOT NULL DEFAULT 'periodic',
  args_template     TEXT NOT NULL DEFAULT '{}',
  cron_expr         TEXT,
  interval_seconds  INTEGER,
  timezone          TEXT NOT NULL DEFAULT 'UTC',
  overlap           TEXT NOT NULL DEFAULT 'skip' CHECK (overlap IN ('allow','skip')),
  catch_up          TEXT NOT NULL DEFAULT 'all' CHECK (catch_up IN ('all','latest','none')),
  backfill          INTEGER NOT NULL DEFAULT 10,
  max_attempts      INTEGER,
  priority          INTEGER,
  timeout_ms        INTEGER,
  source            TEXT NOT NULL DEFAULT 'api',
  skipped_count     INTEGER NOT NULL DEFAULT 0,
  last_skipped_at   INTEGER,
  last_skip_reason  TEXT,
  next_run_at       INTEGER NOT NULL,
  last_enqueued_at  INTEGER,
  is_active         INTEGER NOT NULL DEFAULT 1,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL,
  CHECK ((cron_expr IS NULL) <> (interval_seconds IS NULL))
);
CREATE INDEX job_periodics_due ON job_periodics (next_run_at) WHERE is_active = 1;
