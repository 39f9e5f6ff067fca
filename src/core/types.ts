import type { GenericSchema } from "valibot";
import type { Duration } from "./duration.ts";
import type { Logger } from "./logger.ts";

/**
 * Lifecycle state of a job. `scheduled` waits for a future `scheduledAt`; `retryable` waits for backoff; `waiting`
 * is a workflow that paused (a sleep, events, its children) and holds no slot until it wakes.
 */
export type JobState = "available" | "scheduled" | "running" | "retryable" | "waiting" | "succeeded" | "cancelled" | "discarded";

/** States a job never leaves. */
export const TERMINAL_STATES: readonly JobState[] = ["succeeded", "cancelled", "discarded"];
/** Whether `state` is terminal (succeeded, cancelled, discarded). */
export function isTerminal(state: JobState): boolean {
  return state === "succeeded" || state === "cancelled" || state === "discarded";
}

/** States a runner may claim once `scheduledAt <= now` (a waiting job's `scheduledAt` is when it wakes). */
export const CLAIMABLE_STATES: readonly JobState[] = ["available", "scheduled", "retryable", "waiting"];
/** Every state, in lifecycle order. */
export const JOB_STATES: readonly JobState[] = ["available", "scheduled", "running", "retryable", "waiting", "succeeded", "cancelled", "discarded"];

/** What a waiting job waits for. */
export type WaitReason = "sleep" | "event" | "children";

/**
 * How one attempt ended, as recorded in `job_runs.outcome`. `started` is the stub written at claim; `suspended`
 * is a workflow attempt that paused to wait (it gives its attempt back).
 */
export type RunOutcome = "started" | "success" | "error" | "timeout" | "snooze" | "suspended" | "cancelled" | "crashed" | "superseded";

/** Classification of a failed attempt: `transient` and `timeout` retry, the others discard at once. */
export type ErrorClass = "transient" | "timeout" | "permanent" | "validation" | "unknown_kind" | "crashed";

/** A JSON-serialisable value. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** The job handed to a worker. */
export interface Job<A = unknown> {
  readonly id: string;
  readonly kind: string;
  readonly queue: string;
  /** Args, parsed by the worker's schema when it has one. */
  readonly args: A;
  /** This attempt's number, starting at 1. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** Id of this attempt's `job_runs` row, allocated before the worker runs: the idempotency key for external side effects. */
  readonly runId: string;
  readonly parentId: string | null;
  readonly tags: readonly string[];
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly enqueuedAt: Date;
  /** Logger tagged with job id, kind and run id. */
  readonly logger: Logger;
  /** Aborted on timeout, cancel, lost lease, or when the node's drain deadline passes. */
  readonly signal: AbortSignal;
}

/** A child job a worker asks for; inserted in the same transaction that finalizes the parent. */
export interface FollowUp {
  kind: string | WorkerDefinition<any, any>;
  args?: unknown;
  /** Link the child to this job (`parent_job_id`). */
  parent?: boolean;
  options?: Omit<InsertOptions, "tx" | "parentId">;
}

/**
 * What a worker may return. Precedence when several apply: `cancel`, then `snooze`, then success.
 * Returning nothing is success with no output.
 */
export interface WorkResult {
  /** Stored on the attempt's run row as JSON. */
  output?: unknown;
  /** Cost of the attempt in millionths of your currency unit. */
  costMicros?: number;
  /** Reschedule after this delay without consuming an attempt. */
  snooze?: Duration;
  /** End the job as `cancelled`; a string is recorded as the reason. */
  cancel?: boolean | string;
  /** Child jobs to insert atomically with this job's finalize. */
  followUps?: FollowUp[];
}

/** The definition of a worker: its kind, optional args schema and defaults, and the work function. */
export interface WorkerDefinition<A = unknown, In = A> {
  readonly kind: string;
  /** valibot schema for args; invalid args are refused at insert and discarded if they reach a runner. */
  readonly args?: GenericSchema<In, A>;
  readonly queue?: string;
  readonly priority?: number;
  readonly maxAttempts?: number;
  readonly timeout?: Duration;
  work(job: Job<A>): Promise<WorkResult | void> | WorkResult | void;
  /** Classify a thrown error; return undefined to fall back to the default rules. */
  classify?(error: Error): ErrorClass | undefined;
  /** Override the backoff before the next attempt; return undefined for the default. */
  retryDelay?(attempt: number, error: Error): Duration | undefined;
  /**
   * A circuit breaker for the kind, shared by every node through the database (SPEC §18): after `failures`
   * consecutive failed attempts (error, timeout or crash) its jobs are not claimed for `openFor`, then one probe
   * job runs; its success closes the breaker, its failure opens it again. No breaker unless given.
   */
  readonly breaker?: BreakerOptions;
}

/** A worker's circuit breaker: how many consecutive failed attempts open it, and for how long. */
export interface BreakerOptions {
  /** Consecutive failed attempts that open the breaker: a whole number ≥ 1. */
  failures: number;
  /** How long it stays open before a probe may run, e.g. `"30s"`. */
  openFor: Duration;
}

/** Options for `insert` and `insertMany` items. `{}` means: worker defaults, else queue `default`, priority 100, 25 attempts, runnable now. */
export interface InsertOptions<Tx = unknown> {
  queue?: string;
  /** Lower runs first. Default 100. */
  priority?: number;
  scheduleAt?: Date;
  delay?: Duration;
  maxAttempts?: number;
  timeout?: Duration;
  /** Collides with any job that ever had this key. */
  uniqueKey?: string;
  /** Collides only with a non-terminal job holding this key. */
  uniqueActiveKey?: string;
  executorClass?: string;
  parentId?: string;
  /** The top of the tree of jobs this one belongs to (workflows set it on the jobs they spawn). */
  rootId?: string;
  tags?: string[];
  requestId?: string;
  /**
   * Who enqueues it, for the job's history (`fw.listHistory`): `app` unless given; the CLI says `cli`, the HTTP API
   * `api`, a publish `publish`.
   */
  actor?: string;
  /** The caller's open transaction (outbox): a postgres.js `TransactionSql`, or a bun:sqlite `Database` inside `db.transaction`. */
  tx?: Tx;
}

/** A job row as stored. */
export interface JobRecord {
  id: string;
  kind: string;
  queue: string;
  args: unknown;
  priority: number;
  state: JobState;
  attempt: number;
  maxAttempts: number;
  timeoutMs: number | null;
  scheduledAt: Date;
  leasedUntil: Date | null;
  leaseToken: string | null;
  uniqueKey: string | null;
  uniqueActiveKey: string | null;
  parentJobId: string | null;
  executorClass: string;
  tags: string[];
  metadata: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
  finalizedAt: Date | null;
  deletedAt: Date | null;
  /** The top of a workflow's tree of child jobs; null for a job nobody spawned. */
  rootJobId: string | null;
  /** While `waiting`: what for. */
  waitReason: WaitReason | null;
  /** While `waiting`: when it wakes at the latest (a sleep's end, a wait's deadline); null when only an event or a child wakes it. */
  wakeAt: Date | null;
  /** Moves whenever something a workflow may wait for happens to it (an event, a child's end). */
  wakeSeq: number;
}

/** One attempt's audit row. */
export interface RunRecord {
  id: string;
  jobId: string;
  attempt: number;
  executorClass: string;
  executorId: string;
  startedAt: Date;
  finishedAt: Date | null;
  outcome: RunOutcome;
  errorClass: string | null;
  errorMessage: string | null;
  output: unknown;
  durationMs: number | null;
  costMicros: number | null;
  enqueuedChildren: number;
  createdAt: Date;
}

/** Where a workflow step stands: running (a spawned child), waiting (a sleep or a wait), or done. */
export type StepStatus = "started" | "waiting" | "completed" | "failed" | "skipped";

/** A workflow step as stored: memoized output once completed, or what it waits for. */
export interface StepRecord {
  key: string;
  status: StepStatus;
  /** The step's result (a completed step), or its data while it waits (a spawned child's id). */
  output: unknown;
  error: string | null;
  /** Tries of the step's function in the attempts that ran it. */
  attempts: number;
  /** The attempt (run) that last wrote it. */
  runId: string | null;
  /** A sleep's end or a wait's deadline. */
  wakeAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** An event emitted to a job: a latch holding the last payload per name. */
export interface EventRecord {
  name: string;
  payload: unknown;
  emittedAt: Date;
}

/** What to do with fires missed while no scheduler ran. */
export type CatchUp = "all" | "latest" | "none";
/** Whether a fire may start while the previous fire's job is still queued or running. */
export type Overlap = "allow" | "skip";

/** A periodic schedule as stored. */
export interface PeriodicRecord {
  id: string;
  slug: string;
  kind: string;
  queue: string;
  args: unknown;
  cron: string | null;
  intervalSeconds: number | null;
  timezone: string;
  overlap: Overlap;
  catchUp: CatchUp;
  backfill: number;
  maxAttempts: number | null;
  priority: number | null;
  timeoutMs: number | null;
  /** Each fire's job waits a stable offset in [0, jitterMs) derived from the slug (see `jitterOffsetMs`); null for none. */
  jitterMs: number | null;
  source: string;
  skippedCount: number;
  lastSkippedAt: Date | null;
  lastSkipReason: string | null;
  /** The job of the last run that ended, and how it ended (`succeeded`, `discarded`, `cancelled`). */
  lastJobId: string | null;
  lastOutcome: string | null;
  /** A command job's exit code in its last run; null otherwise. */
  lastExitCode: number | null;
  lastDurationMs: number | null;
  lastFinishedAt: Date | null;
  lastSuccessAt: Date | null;
  /** Runs in a row that ended without success; 0 after a success. */
  consecutiveFailures: number;
  /** Who paused it: `operator` (the CLI or API), which a config reconcile leaves paused; null when active. */
  pausedBy: string | null;
  /** Why the periodic last failed to fire, until it next fires; null when it fires fine. */
  lastError: string | null;
  lastErrorAt: Date | null;
  nextRunAt: Date;
  lastEnqueuedAt: Date | null;
  isActive: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** A sample of queue health. */
export interface QueueHealth {
  counts: Record<JobState, number>;
  /** Claimable now. */
  ready: number;
  /** Running. */
  inflight: number;
  /** Waiting for a future time (scheduled or retryable, not yet due). */
  scheduledAhead: number;
  /** Seconds the oldest ready job has waited past its `scheduledAt`: the queue's lag. 0 when nothing is ready. */
  oldestReadyAgeSeconds: number;
  sampledAt: Date;
}

/**
 * Live jobs of one kind, queue and state: how many, and of those how many are ready now, how many wait for a
 * future time, and the oldest ready one's `scheduledAt` (what {@link QueueHealth} is computed from).
 */
export interface CensusRow {
  kind: string;
  queue: string;
  state: JobState;
  count: number;
  ready: number;
  scheduledAhead: number;
  oldestReadyAt: Date | null;
}

/** A discarded job with the error of its last attempt. */
export interface FailureRecord {
  jobId: string;
  kind: string;
  queue: string;
  attempt: number;
  finalizedAt: Date | null;
  errorClass: string | null;
  errorMessage: string | null;
}

/** A running node as its registry row says (SPEC §18): who it is and when it last said it was alive. */
export interface NodeRecord {
  id: string;
  /** The executor id its runs record in `job_runs.executor_id`. */
  executorId: string;
  host: string;
  pid: number;
  version: string;
  /** The queues its runners serve. */
  queues: string[];
  /** The kinds it can run. */
  kinds: string[];
  /** How often it heartbeats; a row silent for five of these is removed. */
  heartbeatMs: number;
  startedAt: Date;
  heartbeatAt: Date;
}

/** A queue: its pause state and what it holds. */
export interface QueueRecord {
  name: string;
  paused: boolean;
  pausedAt: Date | null;
  /** Who paused it (`operator`, or the actor an API caller named); null when not paused. */
  pausedBy: string | null;
  counts: Record<JobState, number>;
  /** Seconds the oldest ready job has waited past its `scheduledAt`; 0 when nothing is ready. */
  oldestReadyAgeSeconds: number;
}

/** What a history entry records: a job's lifecycle changes that are not attempts (those are its runs). */
export type HistoryAction = "enqueued" | "cancelled" | "retried" | "event";

/** One entry of a job's history (SPEC §18). */
export interface HistoryRecord {
  jobId: string;
  at: Date;
  action: HistoryAction;
  /** Who did it: `app` (the library), `cli`, `api`, `periodic`, `publish`, `parent`, or a name the caller gave. */
  actor: string;
  /** What else is worth knowing: the event's name, the job a cascade came from, the schedule or topic. */
  detail: Record<string, unknown> | null;
}

/** A topic binding (SPEC §18): jobs of `kind` for every published topic `pattern` matches. */
export interface BindingRecord {
  pattern: string;
  kind: string;
  /** The queue its jobs go to; null: the kind's default. */
  queue: string | null;
  /** Args its jobs get instead of `{ topic, payload }`; null: `{ topic, payload }`. */
  args: unknown;
  /** Who made it: `api` (the library or HTTP API), `cli`, or `config:<instance>` (a daemon's `bindings:`). */
  source: string;
  createdAt: Date;
  updatedAt: Date;
}

/** What a limit caps (SPEC §18): every job of one kind, or every job on one queue. */
export type LimitTarget = { kind: string } | { queue: string };

/** A limit as stored and listed (SPEC §18). Every node's claim keeps to it. */
export interface LimitRecord {
  scope: "kind" | "queue";
  /** The kind or queue it caps. */
  name: string;
  /** At most this many of its jobs run at once, across every node; null: no cap. */
  concurrency: number | null;
  /** At most this many attempts start in any window of the duration, e.g. `"100/1m"`; null: no cap. */
  rate: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * A kind's circuit breaker as the database holds it (SPEC §18). `closed`: claimed as usual, counting failures;
 * `open`: not claimed until `openUntil`; `half_open`: past `openUntil`, one probe job may run (`probeJobId` once
 * it was claimed), and its outcome closes or re-opens the breaker.
 */
export interface BreakerRecord {
  kind: string;
  state: "closed" | "open" | "half_open";
  /** Consecutive failed attempts counted so far (reset by a success). */
  failures: number;
  openedAt: Date | null;
  openUntil: Date | null;
  probeJobId: string | null;
  updatedAt: Date;
}
