-- flywheel schema v6 (SPEC §18): the node registry and queue state. Every running node keeps a row here and
-- heartbeats it; a row silent for five of its own heartbeats is removed by whichever node looks next. A queue
-- has a row only once an operator paused it (or a limit names it): a queue is a string until then.
CREATE TABLE job_nodes (
  id text PRIMARY KEY,
  executor_id text NOT NULL,
  host text NOT NULL,
  pid integer NOT NULL,
  version text NOT NULL,
  queues text[] NOT NULL,
  kinds text[] NOT NULL,
  heartbeat_ms bigint NOT NULL,
  started_at timestamptz NOT NULL,
  heartbeat_at timestamptz NOT NULL
);

CREATE TABLE job_queues (
  name text PRIMARY KEY,
  paused_at timestamptz,
  paused_by text,
  updated_at timestamptz NOT NULL
);
