-- flywheel schema v7 (SPEC §18): topic bindings and job history.
-- A binding routes a published topic to a kind (and queue); `prefix` is its pattern's literal start, so a publish
-- reads only the bindings whose prefix is one of the topic's prefixes (an index lookup per prefix).
CREATE TABLE job_bindings (
  pattern text NOT NULL,
  kind text NOT NULL,
  prefix text NOT NULL,
  queue text,
  args jsonb,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (pattern, kind)
);
CREATE INDEX job_bindings_prefix ON job_bindings (prefix);

-- What happened to a job besides its attempts (those are job_runs): cancelled, retried, an event emitted to it,
-- with who did it. Its enqueue is not stored here: the job row itself says when and by whom.
CREATE TABLE job_history (
  id text PRIMARY KEY,
  job_id text NOT NULL,
  at timestamptz NOT NULL,
  action text NOT NULL,
  actor text NOT NULL,
  detail jsonb
);
CREATE INDEX job_history_job ON job_history (job_id, at);
