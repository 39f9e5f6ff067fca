-- flywheel schema v1 (PostgreSQL). Runs with search_path set to flywheel's own schema, so every name below
-- lands there. Timestamps are timestamptz written from the runtime's clock (never now()); JSON columns are jsonb.
CREATE TABLE jobs (
  id                text PRIMARY KEY,
  kind              text NOT NULL,
  queue             text NOT NULL DEFAULT 'default',
  args              jsonb NOT NULL DEFAULT '{}',
  priority          integer NOT NULL DEFAULT 100,
  state             text NOT NULL CHECK (state IN ('available','scheduled','running','retryable','succeeded','cancelled','discarded')),
  attempt           integer NOT NULL DEFAULT 0,
  max_attempts      integer NOT NULL DEFAULT 25,
  timeout_ms        bigint,
  scheduled_at      timestamptz NOT NULL,
  leased_until      timestamptz,
  lease_token       text,
  unique_key        text,
  unique_active_key text,
  parent_job_id     text,
  executor_class    text NOT NULL DEFAULT '',
  tags              jsonb NOT NULL DEFAULT '[]',
  metadata          jsonb NOT NULL DEFAULT '{}',
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL,
  finalized_at      timestamptz,
  deleted_at        timestamptz
);

-- The claim walks this index in (priority, scheduled_at, id) order for one queue under FOR UPDATE SKIP LOCKED;
-- it never sorts the backlog (test/postgres/claim-plan.pg.test.ts checks the plan).
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
  id                text PRIMARY KEY,
  job_id            text NOT NULL,
  attempt           integer NOT NULL,
  executor_class    text NOT NULL DEFAULT '',
  executor_id       text NOT NULL,
  started_at        timestamptz NOT NULL,
  finished_at       timestamptz,
  outcome           text NOT NULL CHECK (outcome IN ('started','success','error','timeout','snooze','cancelled','crashed','superseded')),
  error_class       text,
  error_message     text,
  output            jsonb,
  duration_ms       bigint,
  cost_micros       bigint,
  enqueued_children integer NOT NULL DEFAULT 0,
  created_at        timestamptz NOT NULL,
  UNIQUE (job_id, attempt)
);

CREATE TABLE job_periodics (
  id                text PRIMARY KEY,
  slug              text NOT NULL UNIQUE,
  kind              text NOT NULL,
  queue             text NOT NULL DEFAULT 'periodic',
  args_template     jsonb NOT NULL DEFAULT '{}',
  cron_expr         text,
  interval_seconds  integer,
  timezone          text NOT NULL DEFAULT 'UTC',
  overlap           text NOT NULL DEFAULT 'skip' CHECK (overlap IN ('allow','skip')),
  catch_up          text NOT NULL DEFAULT 'all' CHECK (catch_up IN ('all','latest','none')),
  backfill          integer NOT NULL DEFAULT 10,
  max_attempts      integer,
  priority          integer,
  timeout_ms        bigint,
  source            text NOT NULL DEFAULT 'api',
  skipped_count     integer NOT NULL DEFAULT 0,
  last_skipped_at   timestamptz,
  last_skip_reason  text,
  next_run_at       timestamptz NOT NULL,
  last_enqueued_at  timestamptz,
  is_active         boolean NOT NULL DEFAULT true,
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL,
  CHECK ((cron_expr IS NULL) <> (interval_seconds IS NULL))
);
CREATE INDEX job_periodics_due ON job_periodics (next_run_at) WHERE is_active;
