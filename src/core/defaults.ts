// Every default flywheel applies, in one place. Options types say in their TSDoc what `{}` means by pointing
// here; code reads these constants instead of repeating literals.

/** What a job gets when neither its insert options nor its worker say otherwise (SPEC §3, §5). */
export const JOB_DEFAULTS = {
  queue: "default",
  /** Lower runs first. */
  priority: 100,
  maxAttempts: 25,
  executorClass: "",
} as const;

/** What a periodic gets when its spec does not say (SPEC §7). */
export const PERIODIC_DEFAULTS = {
  queue: "periodic",
  timezone: "UTC",
  overlap: "skip",
  catchUp: "all",
  /** With `catchUp: "all"`, the most missed fires enqueued in one tick. */
  backfill: 10,
  source: "api",
} as const;

/**
 * What a `flywheel.yaml` schedule gets when it does not say (SPEC §20): cron's semantics, where a failed run is
 * not retried and a daemon that was down runs the latest missed fire once. The library's own defaults
 * ({@link PERIODIC_DEFAULTS}, {@link JOB_DEFAULTS}) stay as they are.
 */
export const CONFIG_SCHEDULE_DEFAULTS = {
  maxAttempts: 1,
  catchUp: "latest",
} as const;

/** `flywheel serve`'s settings when the config does not say; the library's node keeps retention off. */
export const DAEMON_DEFAULTS = {
  /** Finished jobs (and their runs) are deleted 30 days after they finished: a daemon's database does not grow forever. */
  retentionMs: 30 * 86_400_000,
} as const;

/** A runner's settings when its options are `{}` (SPEC §6, §8). */
export const RUNNER_DEFAULTS = {
  queues: ["default"],
  concurrency: 10,
  leaseMs: 30_000,
  /** Idle poll at first: wake-ups (an insert here, another process's commit) claim at once; the poll is the fallback. */
  pollIntervalMs: 250,
  /** The idle poll doubles while claims come back empty, up to this; any claim that finds work resets it. */
  idlePollMaxMs: 2_000,
  /** Timeout for jobs whose row and worker set none. */
  jobTimeoutMs: 30 * 60_000,
  /** Jobs claimed ahead of free slots (opt-in batching). */
  prefetch: 0,
  /** Longest wait, with a prefetch buffer, for outcomes hoping to ride with the next claim. */
  outboxWindowMs: 10,
} as const;

/** The retry backoff (SPEC §6.5): `min(base · 2^(n−1), cap)` times a jitter in [0.75, 1.25). */
export const BACKOFF_DEFAULTS = {
  baseMs: 1_000,
  capMs: 60_000,
} as const;

/** Backoff of long-running loops after a database error (SPEC §8): doubling from the first delay to the cap. */
export const LOOP_BACKOFF_DEFAULTS = {
  firstMs: 100,
  capMs: 30_000,
} as const;

/** Maintenance cadences when `scheduler: {}` (SPEC §7.4). Retention and the health sample are off by default. */
export const MAINTENANCE_DEFAULTS = {
  tickMs: 1_000,
  sweepMs: 30_000,
  sweepBatch: 1_000,
  retentionBatch: 1_000,
  /** Due periodics read per tick. */
  dueBatch: 500,
  /** The longest the periodic tick sleeps waiting for the next fire (it wakes at the fire, or on a change). */
  idleTickMaxMs: 60_000,
} as const;

/** A node's parts when its options are `{}` (SPEC §8). */
export const NODE_DEFAULTS = {
  queues: ["default", "periodic"],
  drainTimeoutMs: 30_000,
  /**
   * How often a node refreshes its registry row (SPEC §18). A row silent for five of these is removed, so a
   * node counts as gone 50 s after its last word; one small write per node every 10 s costs nothing that shows.
   */
  heartbeatMs: 10_000,
} as const;

/** The HTTP server when `http: {}`: loopback only. */
export const HTTP_DEFAULTS = {
  hostname: "127.0.0.1",
  /**
   * Not 9090 (Prometheus's own) nor any port of Prometheus's default port allocations (9100–9999), where
   * exporters already sit on the hosts flywheel runs on.
   */
  port: 7741,
  /** How long `/readyz` and `/metrics` wait for the database. */
  readyTimeoutMs: 2_000,
} as const;

/** SQLite connections flywheel opens (SPEC §3). */
export const SQLITE_DEFAULTS = {
  synchronous: "normal",
  busyTimeoutMs: 5_000,
  /** How often a subscribed driver looks at `PRAGMA data_version` for other processes' commits when the file system cannot notify it. */
  wakePollMs: 10,
  /** With file notifications, the slow look that catches an event the file system missed. */
  wakeFallbackMs: 1_000,
} as const;

/** PostgreSQL pools flywheel opens (SPEC §3). */
export const POSTGRES_DEFAULTS = {
  schema: "flywheel",
  maxConnections: 10,
  idleTimeoutSeconds: 60,
  maxLifetimeSeconds: 30 * 60,
  connectTimeoutSeconds: 10,
} as const;

/** Reads and listings when the caller gives no limit or window. */
export const READ_DEFAULTS = {
  /** Jobs per `listJobs` page. */
  listLimit: 50,
  /** `recentFailures`: how far back, and how many. */
  failuresWindowMs: 86_400_000,
  failuresLimit: 50,
} as const;

/** The logger when its options are `{}`. */
export const LOG_DEFAULTS = {
  level: "info",
  format: "text",
  /** Job stdout/stderr lines stay out of the daemon log unless asked for (they are in `job_runs` either way). */
  jobOutput: false,
} as const;

/** The ready-made command workers (SPEC §11) when their options are `{}`. */
export const COMMAND_WORKER_DEFAULTS = {
  /** A forwarded output line longer than this is cut (on a character boundary), so one line cannot flood the log. */
  outputLineMaxBytes: 4_096,
  /** The host variables a job's process inherits. */
  envAllowlist: ["PATH", "HOME", "SHELL", "LANG", "TMPDIR", "USER"],
  /** Cap per stream of captured stdout/stderr, keeping head and tail. */
  maxOutputBytes: 65_536,
  /** SIGTERM → SIGKILL grace for a job's process group. */
  killGraceMs: 5_000,
  shell: "sh",
} as const;

/** Durable workflows (SPEC §17). */
export const WORKFLOW_DEFAULTS = {
  /** Largest step output (and event payload), as JSON text. */
  maxOutputBytes: 1_048_576,
  /** In-process tries of a step before it counts as failed. */
  stepMaxAttempts: 1,
  /** How often `result` looks at a job running in another process, between wake-ups. */
  resultPollMs: 250,
} as const;

/** Longest error message stored on a run; longer ones are cut with an ellipsis. */
export const ERROR_MESSAGE_LIMIT = 4_000;

/** What the HTTP API and its event stream use when nothing says otherwise. */
export const HTTP_API_DEFAULTS = {
  /** Largest request body accepted, in bytes; larger ones are refused with 413 before they are read whole. */
  maxBodyBytes: 1_048_576,
  /** Jobs per `GET /api/v1/jobs` page when `limit` is not given, and the most one page may ask for. */
  listLimit: 50,
  maxListLimit: 500,
  /** Shortest API token accepted: a token guards every write, and reads from other hosts. */
  minTokenLength: 16,
  /**
   * A comment line on every open event stream this often, so proxies and the browser keep an idle stream open
   * (Bun's own idle timeout is switched off for event streams).
   */
  sseKeepAliveMs: 15_000,
  /**
   * Events gather this long before they go out together, so a node finishing thousands of jobs a second writes
   * to each stream 20 times a second rather than once per event (the dashboard waits 400 ms after an event anyway).
   */
  sseBatchMs: 50,
  /** How long a browser waits before reconnecting a dropped stream (the `retry:` field). */
  sseRetryMs: 3_000,
  /**
   * Bytes an event stream may hold for a client that does not read. Past it the stream is closed: the client
   * reconnects and reloads, and the node's memory stays bounded whatever the client does.
   */
  sseClientBufferBytes: 1_048_576,
  /**
   * The overview's counts come from one sample of the jobs table shared by every client. A sample younger than
   * this is served as it is; an older one is served while the next is taken in the background. A dashboard
   * reloads within half a second of an event, so under load it would otherwise count the table every time.
   */
  overviewSampleMinAgeMs: 5_000,
  /**
   * …and a sample that took `t` to take is kept at least `t` times this, so a large table's census costs the node
   * at most about a tenth of one core however many dashboards are open.
   */
  overviewSampleCostFactor: 10,
  /** The throughput sparkline: finished attempts counted per bucket, over this many buckets. */
  throughputBucketMs: 60_000,
  throughputBuckets: 60,
} as const;

/** What an alert gets when its config does not say. */
export const ALERT_DEFAULTS = {
  /** The queue alert and ping jobs go to; the daemon runs a runner of its own on it. */
  queue: "alerts",
  /** `on:` when an alert names no events: `skipped` is opt-in, since an overlapping schedule skips often. */
  on: ["failure", "recovery", "missed"] as const,
  format: "json",
  /** How long after its time a fire may start before it counts as missed. */
  graceMs: 5 * 60_000,
  webhookTimeoutMs: 10_000,
  commandTimeoutMs: 60_000,
  pingTimeoutMs: 10_000,
  /** Attempts per alert: with the default backoff (1 s doubling to 1 min) about nine minutes of retrying. */
  maxAttempts: 15,
  /** Attempts per ping: a ping delivered very late would only mislead a dead-man check. */
  pingMaxAttempts: 5,
  /** Slots of the daemon's alerts runner. */
  concurrency: 4,
  /** How often a node looks for missed fires, at most; shorter when a schedule's grace is shorter. */
  missedCheckMs: 30_000,
  /** How often a node looks for missed fires, at least. */
  missedCheckMinMs: 1_000,
  /** Lines of stderr and stdout an alert carries, and the bytes they may take each. */
  tailLines: 20,
  tailBytes: 4_096,
  /** Waiting jobs read per queue and state when looking for fires that have not started. */
  scanLimit: 200,
  /** How long an end ping waits before it looks again whether its start ping has gone out. */
  pingOrderSnoozeMs: 500,
  /** How long stopping waits for the schedule state of jobs that ended during the drain (SQL round trips). */
  stopWaitMs: 5_000,
  /** Added to an alert's own timeout for the runtime's deadline, so the alert's own fires first. */
  deadlineSlackMs: 5_000,
} as const;
