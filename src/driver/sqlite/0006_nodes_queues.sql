-- flywheel schema v6 (SPEC §18): the node registry and queue state. Every running node keeps a row here and
-- heartbeats it; a row silent for five of its own heartbeats is removed by whichever node looks next. A queue
-- has a row only once an operator paused it (or a limit names it): a queue is a string until then.
CREATE TABLE job_nodes (
  id TEXT PRIMARY KEY,
  executor_id TEXT NOT NULL,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  version TEXT NOT NULL,
  queues TEXT NOT NULL,
  kinds TEXT NOT NULL,
  heartbeat_ms INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL
);

CREATE TABLE job_queues (
  name TEXT PRIMARY KEY,
  paused_at INTEGER,
  paused_by TEXT,
  updated_at INTEGER NOT NULL
);
