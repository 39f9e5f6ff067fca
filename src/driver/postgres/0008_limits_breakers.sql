-- flywheel schema v8 (SPEC §18): limits and circuit breakers, enforced by the claim on every node.
-- A limit caps a kind or a queue: how many of its jobs run at once (`concurrency`), and how many attempts start in
-- any window of `rate_window_ms` (`rate_count`). The claim reads this table in its own transaction; while it is
-- empty the claim is the same as without limits.
CREATE TABLE job_limits (
  scope text NOT NULL CHECK (scope IN ('kind', 'queue')),
  name text NOT NULL,
  concurrency integer,
  rate_count integer,
  rate_window_ms bigint,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (scope, name)
);

-- When attempts of a rate-limited kind or queue started: a sliding-window log written only by claims of rate-limited
-- jobs (job_runs holds the same instants, but counting them needs a join to jobs and an index on started_at that
-- every claim would pay for). Pruned by the claim once older than two windows.
CREATE TABLE job_limit_starts (
  scope text NOT NULL,
  name text NOT NULL,
  started_at timestamptz NOT NULL
);
CREATE INDEX job_limit_starts_key ON job_limit_starts (scope, name, started_at);

-- A kind's circuit breaker: its streak of failed attempts, and while open (`open_until` set) the instant its jobs
-- may be claimed again, one probe first. A kind has a row only once an attempt of it failed under a breaker.
CREATE TABLE job_breakers (
  kind text PRIMARY KEY,
  failures integer NOT NULL,
  opened_at timestamptz,
  open_until timestamptz,
  probe_job_id text,
  updated_at timestamptz NOT NULL
);
