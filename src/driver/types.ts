import type {
  CensusRow,
  EventRecord,
  FailureRecord,
  JobRecord,
  BindingRecord,
  HistoryRecord,
  JobState,
  NodeRecord,
  PeriodicRecord,
  RunOutcome,
  RunRecord,
  StepRecord,
  StepStatus,
  WaitReason,
} from "../core/types.ts";

/**
 * The dialect seam. Every SQL statement flywheel runs lives behind this interface; `src/driver/sqlite` and
 * `src/driver/postgres` implement it, and the driver contract kit (`test/driver/kit/`) runs every method against
 * both. `Tx` is the dialect's handle for the caller's open transaction (the outbox).
 *
 * Rules every implementation keeps:
 * - Methods are named noun-verb and take one params object.
 * - Time comes from the `now` the caller passes, never from the database's clock.
 * - Each method is one transaction (or one statement) unless it says otherwise.
 * - `tx`, where accepted, is the caller's open transaction: the statement runs on it and commits with it.
 * - Decisions (what a lost fence or a replayed finalize records) come from `src/driver/rules.ts`; the SQL
 *   only reads and writes.
 * - Only {@link FlywheelError}s leave a method: unique violations become `conflict`, values the database
 *   refuses `validation`, lost or refused connections `unavailable`, a damaged file `corrupt`, the rest `database`.
 *
 * (Over 400 lines on purpose: the whole contract, every method with its TSDoc and the row shapes it takes and
 * returns, reads in one place; splitting it would scatter the seam both dialects implement.)
 */
export interface Driver<Tx = unknown> {
  readonly dialect: Dialect;

  /** Creates or upgrades the schema; idempotent. Refuses a schema newer than the code knows (`schema_too_new`). */
  schemaMigrate(): Promise<{ applied: number[] }>;
  /** The applied schema version and the newest this code knows. */
  schemaVersion(): Promise<{ current: number; latest: number }>;
  /**
   * Resolves when the database answers a real read of flywheel's tables; with `integrity`, also checks the
   * storage for damage (SQLite `quick_check`), throwing `corrupt` when it finds any.
   */
  dbCheck(p: { integrity?: boolean }): Promise<void>;
  /** Releases connections and timers. Idempotent. */
  close(): Promise<void>;

  /** Inserts jobs in input order; unique collisions are skipped and reported with the holder's id. */
  jobInsert(p: { jobs: JobInsertRow[]; tx?: Tx }): Promise<InsertOutcome[]>;
  /**
   * {@link Driver.jobInsert} on the caller's transaction, synchronously, for dialects whose transactions are
   * synchronous (bun:sqlite): a refusal throws inside the caller's transaction callback, so it rolls back.
   */
  jobInsertSync?(p: { jobs: JobInsertRow[]; tx: Tx }): InsertOutcome[];
  /** Claims up to `limit` claimable jobs and commits a `started` run stub for each, in one transaction. */
  jobClaim(p: ClaimParams): Promise<ClaimedJob[]>;
  /**
   * Finalizes attempts in one transaction: each job advances only if its fence holds (`lease_token` matches,
   * and for sweep items the lease is still expired); the run is then recorded as `rules.settleRun` decides.
   * Follow-ups are inserted only for jobs that advanced. Finalizing the same items twice changes nothing.
   */
  jobFinalize(p: { items: FinalizeItem[]; now: Date }): Promise<FinalizeOutcome[]>;
  /**
   * {@link Driver.jobFinalize} (at `claim.now`) then {@link Driver.jobClaim}, committed as one transaction: the
   * runner's steady state, one round trip and one commit where it would take two. A job the finalize makes
   * claimable again may or may not be among the claimed.
   */
  jobFinalizeAndClaim(p: { items: FinalizeItem[]; claim: ClaimParams }): Promise<{ outcomes: FinalizeOutcome[]; jobs: ClaimedJob[] }>;
  /** Extends the leases still held (matching token, still running), never moving one backwards; returns the ids still held. */
  leaseRenew(p: { leases: LeaseRef[]; leasedUntil: Date; now: Date }): Promise<Set<string>>;
  /** Up to `limit` running jobs whose lease expired before `now`, oldest expiry first, with their open run. */
  leaseListExpired(p: { now: Date; limit: number }): Promise<ExpiredLease[]>;

  jobGet(p: { id: string }): Promise<JobRecord | null>;
  /** Up to `limit` ids that start with `prefix` (for ids given abbreviated, as `git` accepts short hashes). */
  jobIdsByPrefix(p: { prefix: string; limit: number }): Promise<string[]>;
  /** Newest first; `before` is an id cursor. */
  jobList(p: JobListParams): Promise<JobRecord[]>;
  /**
   * Up to `limit` live jobs whose `unique_key` starts with `prefix` (non-empty), newest first; with `after` (an id),
   * only jobs newer than it. A schedule's fires are keyed `periodic:<slug>@…`, so this lists a schedule's jobs, and
   * `after` lets a follower poll for new ones cheaply.
   */
  jobListByKeyPrefix(p: { prefix: string; limit: number; after?: string }): Promise<JobRecord[]>;
  /** Every run of a job, oldest attempt first. */
  runList(p: { jobId: string }): Promise<RunRecord[]>;
  /** Counts per (kind, state), optionally for one kind. */
  jobCountByKind(p: { kind?: string }): Promise<Array<{ kind: string; state: JobState; count: number }>>;
  /** Counts by state, plus ready/scheduled-ahead and the oldest ready `scheduled_at`. */
  queueStatsGet(p: { now: Date; queues?: string[] }): Promise<QueueStats>;
  /**
   * Live jobs counted per (kind, queue, state), with the ready figures `queueStatsGet` gives, as of `now`: one
   * pass over the table for every count the overview shows. A pass costs a read of the whole table, so callers
   * sample it rather than poll it; on SQLite the pass goes in chunks that yield to the event loop between them.
   */
  jobCensus(p: { now: Date }): Promise<CensusRow[]>;
  /** Discarded jobs finalized since `since`, newest first, with their last attempt's error. */
  jobListFailures(p: { since: Date; limit: number }): Promise<FailureRecord[]>;

  /**
   * Cancels a non-terminal job and closes its open `started` run as `cancelled`; returns the job as it was
   * before, or null when missing. Terminal jobs are left alone. With `cascade`, every non-terminal descendant
   * (by `parent_job_id`) is cancelled in the same transaction, and their ids are returned. A cancelled child's
   * parent is woken as for any child's end.
   */
  jobCancel(p: { id: string; now: Date; cascade?: boolean; actor?: string }): Promise<{ before: JobRecord; descendants: string[] } | null>;
  /**
   * Makes a non-running job available now, raising `max_attempts` to `attempt + 1` when exhausted. Returns the
   * job as it was before, or null when missing. A running job is left alone; so is a job whose
   * `unique_active_key` another active job now holds (`heldBy` names that job).
   */
  jobRetry(p: { id: string; now: Date; actor?: string }): Promise<{ before: JobRecord; heldBy: string | null } | null>;
  /** Hard-deletes up to `limit` terminal jobs finalized before `before`, and their runs; returns how many jobs. */
  jobDeleteFinished(p: { before: Date; limit: number }): Promise<number>;
  /** How many terminal jobs `jobDeleteFinished` would delete for `before`, per state (states with none left out); reads only. */
  jobCountFinished(p: { before: Date }): Promise<Array<{ state: JobState; count: number }>>;

  periodicGet(p: { slug: string }): Promise<PeriodicRecord | null>;
  /** Every periodic, by slug. */
  periodicList(p: Record<string, never>): Promise<PeriodicRecord[]>;
  /** Inserts or replaces the periodic with this slug (keeping id, created_at and skip counters). */
  periodicSave(p: PeriodicSaveRow): Promise<PeriodicRecord>;
  /** Active periodics with `next_run_at <= now`, earliest first. */
  periodicListDue(p: { now: Date; limit: number }): Promise<PeriodicRecord[]>;
  /** The earliest `next_run_at` of the active periodics (one index probe), or null when none is active. */
  periodicNextRunAt(p: Record<string, never>): Promise<Date | null>;
  /**
   * Fires a periodic in one transaction, guarded by compare-and-set on `next_run_at`: when another scheduler
   * advanced it first nothing happens (`fired: false`). Otherwise inserts `jobs` (collisions skipped), advances
   * `next_run_at`, and adds `skipped` plus the overlap (`unique_active_key`) collisions to `skipped_count`.
   */
  periodicFire(p: PeriodicFireParams): Promise<{ fired: boolean; inserted: InsertOutcome[] }>;
  /**
   * A workflow attempt's replay state in one read: the steps stored for the job, and the events emitted to it.
   */
  workflowLoad(p: { jobId: string }): Promise<{ steps: StepRecord[]; events: EventRecord[] }>;
  /**
   * Writes (inserts or replaces) one step of a running workflow, fenced on the attempt's lease: an attempt that
   * lost its lease (swept, cancelled) writes nothing and gets false.
   */
  stepSave(p: { jobId: string; leaseToken: string; step: StepWrite }): Promise<boolean>;
  /**
   * Emits an event to a job in one transaction: stores the latch (replacing an earlier payload, unless
   * `ifAbsent`), moves the job's `wake_seq`, and makes it available now if it is waiting for this name. A
   * terminal or missing job gets nothing stored. With `tx`, runs on the caller's open transaction (outbox).
   */
  eventEmit(p: EventEmitParams<Tx>): Promise<EventEmitResult>;
  /** {@link Driver.eventEmit} on the caller's transaction, synchronously (bun:sqlite); see `jobInsertSync`. */
  eventEmitSync?(p: EventEmitParams<Tx> & { tx: Tx }): EventEmitResult;

  /** Records why a periodic could not fire (its next successful fire clears it); false when it is gone. */
  periodicRecordError(p: { id: string; error: string; now: Date }): Promise<boolean>;
  /**
   * Pauses or resumes a periodic; `pausedBy` (e.g. `operator`) is recorded with a pause and cleared by a resume.
   * False when no periodic has the slug.
   */
  periodicSetActive(p: { slug: string; active: boolean; now: Date; pausedBy?: string }): Promise<boolean>;
  /**
   * Records how a run of periodic `slug` ended: its job, outcome, exit code, duration, and the failure streak
   * (reset by a success). Returns the streak before and after, or null when the periodic is gone.
   */
  periodicRecordRun(p: PeriodicRunParams): Promise<{ failuresBefore: number; failuresAfter: number } | null>;
  periodicDelete(p: { slug: string }): Promise<boolean>;
  /** Deactivates active periodics of `source` whose slug is not in `keep`; returns their slugs. */
  periodicDeactivateMissing(p: { source: string; keep: string[]; now: Date }): Promise<string[]>;

  /**
   * Creates or refreshes a node's registry row, and removes rows silent for five of their own heartbeats, in one
   * transaction; returns the ids it removed.
   */
  nodeHeartbeat(p: { node: NodeRow; now: Date }): Promise<{ removed: string[] }>;
  /** Removes a node's row (it stopped); true when it existed. */
  nodeRemove(p: { id: string }): Promise<boolean>;
  /** Registered nodes whose heartbeat is fresher than five of their heartbeats at `now`, oldest first. */
  nodeList(p: { now: Date }): Promise<NodeRecord[]>;
  /**
   * Pauses (`by` given) or resumes (`by` null) a queue: no claim takes a paused queue's jobs; running jobs carry
   * on. Returns whether the state changed.
   */
  queueSetPaused(p: { name: string; by: string | null; now: Date }): Promise<boolean>;
  /**
   * Every queue that holds jobs or has a row (a paused queue with no jobs still lists), by name, with its counts
   * by state and the oldest ready job's `scheduled_at`. Reads every job once: an operator's read, not a hot path.
   */
  queueList(p: { now: Date }): Promise<QueueListRow[]>;
  /** The paused queues, by name, from the queue rows alone (no count of jobs): cheap enough for every request. */
  queuePausedList(p: Record<string, never>): Promise<QueuePauseRow[]>;

  /**
   * Creates or replaces the limit of a kind or queue (SPEC §18). From then on every claim, on every node, keeps to
   * it: a job is claimed only while its kind's and its queue's running counts stay under their `concurrency`, and
   * the attempts started in the last rate window stay under `rateCount`. Claims serialise on the limits while any
   * exists (SQLite: the claim's write lock; PostgreSQL: an advisory lock), so racing nodes never over-claim.
   */
  limitSave(p: LimitSaveRow): Promise<LimitStored>;
  /** Removes the limit of a kind or queue; true when it existed. Its jobs are claimable at once (listeners hear of it). */
  limitDelete(p: { scope: LimitScope; name: string }): Promise<boolean>;
  /** Every limit, by scope then name. */
  limitList(p: Record<string, never>): Promise<LimitStored[]>;
  /**
   * Every kind's circuit breaker row, by kind. The rows change in the finalize of attempts whose items carry a
   * {@link BreakerRule} (in the finalize's transaction, so a claim never sees a probe ended but its breaker not
   * yet moved), and in the claim, which records the probe it took for a half-open kind.
   */
  breakerList(p: Record<string, never>): Promise<BreakerRow[]>;

  /** A job's history rows (cancels, retries, events with their actor), oldest first. */
  historyList(p: { jobId: string }): Promise<HistoryRecord[]>;
  /** Creates or replaces the binding of `pattern` to `kind`. */
  bindingSave(p: BindingSaveRow): Promise<BindingRecord>;
  /** Removes the binding of `pattern` to `kind`; true when it existed. */
  bindingDelete(p: { pattern: string; kind: string }): Promise<boolean>;
  /** Every binding, by pattern then kind. */
  bindingList(p: Record<string, never>): Promise<BindingRecord[]>;
  /**
   * The bindings whose literal prefix is one of `prefixes` (a topic's prefixes: the only ones it can match), on
   * the caller's transaction when `tx` is given; the runtime matches the wildcards.
   */
  bindingMatch(p: { prefixes: string[]; tx?: Tx }): Promise<BindingRecord[]>;
  /** {@link Driver.bindingMatch} on the caller's transaction, synchronously (bun:sqlite); see `jobInsertSync`. */
  bindingMatchSync?(p: { prefixes: string[]; tx: Tx }): BindingRecord[];

  /**
   * Calls `listener` when another connection or process may have made work available (PostgreSQL `LISTEN`,
   * SQLite `PRAGMA data_version`). Returns the unsubscribe function.
   */
  wakeSubscribe(p: { listener: () => void }): () => void;
}

/** A step as a workflow attempt writes it; `outputJson` is the output serialised once (size-checked by the runtime). */
export interface StepWrite {
  key: string;
  status: StepStatus;
  outputJson: string | null;
  error: string | null;
  attempts: number;
  runId: string;
  wakeAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** Parameters of {@link Driver.eventEmit}. */
export interface EventEmitParams<Tx = unknown> {
  jobId: string;
  name: string;
  /** The payload serialised once by the runtime; null for none. */
  payloadJson: string | null;
  now: Date;
  /** Keep an event already stored under this name (first one wins), instead of replacing it. */
  ifAbsent?: boolean;
  /** Who emitted it: with an actor, a stored event is also written to the job's history. */
  actor?: string;
  tx?: Tx;
}

/** What an emit found and did. */
export interface EventEmitResult {
  /** The job's state before the emit; null when no such job. */
  state: JobState | null;
  /** Whether the payload was stored (false: terminal or missing job, or `ifAbsent` and one was there). */
  stored: boolean;
  /** Whether the emit woke the job from waiting. */
  woke: boolean;
}

/** The SQL dialects flywheel speaks. */
export type Dialect = "sqlite" | "postgres";

/** A row to insert into `jobs`; every default is already applied. */
export type JobInsertRow = Pick<
  JobRecord,
  | "id"
  | "kind"
  | "queue"
  | "priority"
  | "maxAttempts"
  | "timeoutMs"
  | "scheduledAt"
  | "uniqueKey"
  | "uniqueActiveKey"
  | "parentJobId"
  | "rootJobId"
  | "executorClass"
  | "tags"
  | "metadata"
  | "createdAt"
> & {
  /** The args as JSON text, serialised once by the runtime when it validated them. */
  argsJson: string;
  state: "available" | "scheduled";
};

/** Result of inserting one row: its id, or the id of the job holding the key it collided with. */
export type InsertOutcome =
  | { inserted: true; id: string }
  | { inserted: false; id: string; key: "unique_key" | "unique_active_key"; value: string };

/** What a runner claims. `queues: null` claims every queue; `executorClasses: null` claims every class. */
export interface ClaimParams {
  queues: string[] | null;
  executorClasses: string[] | null;
  limit: number;
  now: Date;
  leasedUntil: Date;
  leaseToken: string;
  executorId: string;
  /** Only these ids (used to work one job inline). */
  ids?: string[];
}

/** A claimed job with the id of the run stub committed for this attempt. */
export interface ClaimedJob extends JobRecord {
  runId: string;
  startedAt: Date;
}

/** Identifies a held lease. */
export interface LeaseRef {
  jobId: string;
  leaseToken: string;
}

/** A running job whose lease expired, with the run stub of its current attempt (null if it has none). */
export interface ExpiredLease {
  jobId: string;
  kind: string;
  queue: string;
  attempt: number;
  maxAttempts: number;
  leaseToken: string;
  leasedUntil: Date;
  runId: string | null;
  startedAt: Date | null;
}

/** The outcomes a finalize may request for a run. */
export type FinalOutcome = Exclude<RunOutcome, "started" | "superseded">;

/** One attempt's result and the job's next state, computed by the runtime. */
export interface FinalizeItem {
  jobId: string;
  runId: string;
  /** The fence: the job advances only while it still holds this token. */
  leaseToken: string;
  /** Sweep items: the job advances only while its lease is still expired at this instant (not renewed since). */
  expiredBefore?: Date;
  run: {
    outcome: FinalOutcome;
    errorClass: string | null;
    errorMessage: string | null;
    output: unknown;
    finishedAt: Date;
    durationMs: number;
    costMicros: number | null;
  };
  job: {
    state: JobState;
    scheduledAt: Date | null;
    /** Added to `max_attempts` (snooze and suspend give back the attempt they used). */
    maxAttemptsDelta: number;
    /**
     * A workflow attempt that suspends (`state: "waiting"`, `scheduledAt` its wake time or {@link FAR_FUTURE}):
     * what it waits for, and the job's `wake_seq` it saw at claim. When `wake_seq` has moved since (an event or a
     * child's end came while the attempt ran), the job becomes available now instead of waiting.
     */
    wait?: { reason: WaitReason; wakeAt: Date | null; names: string[]; seenWakeSeq: number };
  };
  followUps: JobInsertRow[];
  /** The kind's circuit breaker, when its worker has one: the finalize counts this attempt's outcome against it. */
  breaker?: BreakerRule;
}

/** Whether a finalize advanced the job, and what its follow-ups became. */
export interface FinalizeOutcome {
  applied: boolean;
  /** The run outcome actually recorded (differs from the requested one when not applied). */
  outcome: RunOutcome;
  children: InsertOutcome[];
  /** How this attempt moved its kind's circuit breaker, when it opened or closed it. */
  breaker?: BreakerTransition;
}

/** A kind's circuit breaker rule, carried by the finalize items of its attempts. */
export interface BreakerRule {
  kind: string;
  /** Consecutive failed attempts that open it. */
  failures: number;
  openForMs: number;
}

/** A breaker as stored in `job_breakers`. */
export interface BreakerRow {
  kind: string;
  failures: number;
  openedAt: Date | null;
  openUntil: Date | null;
  probeJobId: string | null;
  updatedAt: Date;
}

/** A breaker that opened (again) or closed. */
export type BreakerTransition = { kind: string; to: "opened"; failures: number; openUntil: Date } | { kind: string; to: "closed" };

/** An open or half-open breaker as the claim reads it: `probing` while its probe job is still running. */
export interface BreakerGate {
  kind: string;
  openUntil: Date;
  probing: boolean;
}

/** Filters for `jobList`. */
export interface JobListParams {
  state?: JobState;
  kind?: string;
  queue?: string;
  limit: number;
  before?: string;
}

/** A node's registry row as the node writes it. */
export interface NodeRow {
  id: string;
  executorId: string;
  host: string;
  pid: number;
  version: string;
  queues: string[];
  kinds: string[];
  heartbeatMs: number;
  startedAt: Date;
}

/** A binding as the runtime stores it: pattern checked, its literal prefix worked out, args serialised. */
export interface BindingSaveRow {
  pattern: string;
  prefix: string;
  kind: string;
  queue: string | null;
  argsJson: string | null;
  /** Who made it: `api`, `cli`, or `config:<instance>`. */
  source: string;
  now: Date;
}

/** What a limit caps: a kind or a queue. */
export type LimitScope = "kind" | "queue";

/** A limit as the runtime stores it: validated, its rate split into a count and a window. */
export interface LimitSaveRow {
  scope: LimitScope;
  name: string;
  concurrency: number | null;
  rateCount: number | null;
  rateWindowMs: number | null;
  now: Date;
}

/** A limit as stored. */
export type LimitStored = Omit<LimitSaveRow, "now"> & { createdAt: Date; updatedAt: Date };

/** A limit with what it counts right now, as the claim reads it: jobs running, and attempts started in its window. */
export interface LimitUsage {
  scope: LimitScope;
  name: string;
  concurrency: number | null;
  rateCount: number | null;
  running: number;
  started: number;
}

/** A row of {@link Driver.queuePausedList}: a paused queue, when and by whom. */
export interface QueuePauseRow {
  name: string;
  pausedAt: Date;
  pausedBy: string | null;
}

/** A row of {@link Driver.queueList}. */
export interface QueueListRow {
  name: string;
  pausedAt: Date | null;
  pausedBy: string | null;
  counts: Record<JobState, number>;
  oldestReadyAt: Date | null;
}

/** Raw queue statistics from which `queueHealth` is derived. */
export interface QueueStats {
  counts: Record<JobState, number>;
  ready: number;
  scheduledAhead: number;
  oldestReadyAt: Date | null;
}

/** A periodic as the runtime wants it stored; `nextRunAt` already decided, `now` stamps the write. */
export type PeriodicSaveRow = Pick<
  PeriodicRecord,
  | "slug"
  | "kind"
  | "queue"
  | "args"
  | "cron"
  | "intervalSeconds"
  | "timezone"
  | "overlap"
  | "catchUp"
  | "backfill"
  | "maxAttempts"
  | "priority"
  | "timeoutMs"
  | "jitterMs"
  | "source"
  | "isActive"
  | "nextRunAt"
> & { now: Date };

/** Parameters of {@link Driver.periodicRecordRun}. */
export interface PeriodicRunParams {
  slug: string;
  jobId: string;
  /** The job's final state, or the run outcome for a run that will be retried. */
  outcome: string;
  succeeded: boolean;
  exitCode: number | null;
  durationMs: number | null;
  finishedAt: Date;
}

/** Parameters of {@link Driver.periodicFire}. */
export interface PeriodicFireParams {
  id: string;
  expectedNextRunAt: Date;
  nextRunAt: Date;
  jobs: JobInsertRow[];
  /** Fires dropped by the catch-up policy. */
  skipped: number;
  skipReason: string | null;
  now: Date;
}

/**
 * `scheduled_at` of a job that waits with no deadline (only an event or a child's end wakes it): far enough
 * that no claim reaches it, near enough for every date type on both dialects.
 */
export const FAR_FUTURE = new Date("9999-12-31T00:00:00Z");
