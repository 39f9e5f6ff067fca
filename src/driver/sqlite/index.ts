import type { Database } from "bun:sqlite";
import { SQLITE_DEFAULTS } from "../../core/defaults.ts";
import { FlywheelError } from "../../core/errors.ts";
import type { BindingRecord, CensusRow, EventRecord, FailureRecord, HistoryRecord, JobRecord, JobState, NodeRecord, PeriodicRecord, RunRecord, StepRecord } from "../../core/types.ts";
import type {
  ClaimParams,
  ClaimedJob,
  Driver,
  EventEmitParams,
  EventEmitResult,
  ExpiredLease,
  FinalizeItem,
  FinalizeOutcome,
  InsertOutcome,
  JobInsertRow,
  JobListParams,
  LeaseRef,
  BreakerRow,
  LimitSaveRow,
  LimitScope,
  LimitStored,
  BindingSaveRow,
  NodeRow,
  PeriodicFireParams,
  PeriodicRunParams,
  PeriodicSaveRow,
  QueueListRow,
  QueuePauseRow,
  QueueStats,
  StepWrite,
} from "../types.ts";
import { cancelJob, countFinishedJobs, deleteFinishedJobs, retryJob } from "./admin.ts";
import { listBreakers } from "./breakers.ts";
import { checkDatabase } from "./check.ts";
import { claimJobs } from "./claim.ts";
import {
  IN_MEMORY,
  assertNoOpenTransaction,
  configureConnection,
  databaseFile,
  immediate,
  openDatabase,
  openSiblingConnection,
  type ConnectionOptions,
} from "./connection.ts";
import { normaliseSqliteError } from "./errors.ts";
import { finalizeJobs } from "./finalize.ts";
import { asDatabase, insertJobBatch, isOneStatement } from "./insert.ts";
import { listExpiredLeases, renewLeases } from "./lease.ts";
import { DataVersionWatch } from "./listen.ts";
import { migrateSchema, schemaVersion } from "./migrate.ts";
import { heartbeatNode, listNodes, removeNode } from "./nodes.ts";
import {
  deactivateMissingPeriodics,
  deletePeriodic,
  firePeriodic,
  getPeriodic,
  listDuePeriodics,
  nextPeriodicRunAt,
  listPeriodics,
  savePeriodic,
  recordPeriodicError,
  recordPeriodicRun,
  setPeriodicActive,
} from "./periodic.ts";
import { deleteLimit, listLimits, saveLimit } from "./limits.ts";
import { listPausedQueues, listQueues, setQueuePaused } from "./queues.ts";
import { deleteBinding, listBindings, listHistory, matchBindings, saveBinding } from "./topics.ts";
import { CENSUS_CHUNK_ROWS, censusChunk, countJobsByKind, getJob, getQueueStats, jobIdsByPrefix, lastJobRowid, listFailures, listJobs, listJobsByKeyPrefix, listRuns } from "./read.ts";
import { emitEvent, loadWorkflow, saveStep } from "./workflow.ts";

/** Options for {@link SqliteDriver}. `{}` means {@link SQLITE_DEFAULTS}: WAL, `synchronous=NORMAL`, 5 s busy timeout, 10 ms wake poll. */
export interface SqliteDriverOptions extends ConnectionOptions {
  /** How often `wakeSubscribe` checks `PRAGMA data_version` for other processes' commits. */
  wakePollMs?: number;
  /** The Database was opened for the driver: it is the runtime's connection, and `close()` closes it. */
  ownsDatabase?: boolean;
}

/**
 * The bun:sqlite implementation of {@link Driver}: wiring only (over 400 lines because the interface has that
 * many methods, each a few lines of transaction choice around a module's statements). Each method runs one
 * operation's statements (the modules beside this file) on the runtime's connection, opens the transaction the
 * operation needs, and turns whatever SQLite throws into a FlywheelError, here and nowhere else. bun:sqlite is
 * synchronous, so every method completes before it returns its promise.
 *
 * On an application's Database (`connect({ sqlite: db })`) the runtime never runs on the application's
 * connection, where its statements would join whatever transaction the application holds open and an
 * application rollback would undo a claim or a finalize. For a file it opens its own connection on the same
 * file; the application's handle serves only `tx` inserts. An in-memory handle cannot have a second
 * connection, so there runtime statements refuse (`unavailable`) while the application holds a transaction.
 */
export class SqliteDriver implements Driver<Database> {
  readonly dialect = "sqlite" as const;
  /** The connection every runtime statement runs on: the driver's own, unless the database is in memory. */
  readonly db: Database;
  /** The database file, or `:memory:`. */
  readonly file: string;
  readonly #given: Database;
  readonly #ownsGiven: boolean;
  readonly #watch: DataVersionWatch;
  readonly #busyTimeoutMs: number;
  #closed = false;

  /** Runs flywheel on `db`; see the class notes for what happens with an application's handle. */
  constructor(db: Database, options: SqliteDriverOptions = {}) {
    this.#given = db;
    this.#ownsGiven = options.ownsDatabase ?? false;
    this.#busyTimeoutMs = options.busyTimeoutMs ?? SQLITE_DEFAULTS.busyTimeoutMs;
    let file = db.filename || IN_MEMORY;
    try {
      file = databaseFile(db);
      // The application's handle too: its `tx` inserts and its own writes now contend with the runtime's
      // connection, and must wait out its transactions instead of failing at once with SQLITE_BUSY.
      configureConnection(db, options);
      this.db = this.#ownsGiven ? db : (openSiblingConnection(db, options) ?? db);
    } catch (error) {
      throw normaliseSqliteError(error, { operation: "open", file });
    }
    this.file = file;
    this.#watch = new DataVersionWatch(this.db, file === IN_MEMORY ? null : file, options.wakePollMs ?? SQLITE_DEFAULTS.wakePollMs);
  }

  /**
   * Opens (creating if needed, mode 0600) the SQLite file at `path`, or an in-memory database for `:memory:`.
   * @throws FlywheelError `corrupt` when the file is not a database; `unavailable` when it cannot be opened.
   */
  static open(path: string, options: SqliteDriverOptions = {}): SqliteDriver {
    let db: Database;
    try {
      db = openDatabase(path);
    } catch (error) {
      throw normaliseSqliteError(error, { operation: "open", file: path });
    }
    try {
      return new SqliteDriver(db, { ...options, ownsDatabase: options.ownsDatabase ?? true });
    } catch (error) {
      db.close(false);
      throw error;
    }
  }

  async schemaMigrate(): Promise<{ applied: number[] }> {
    return this.#write("schemaMigrate", migrateSchema);
  }

  async schemaVersion(): Promise<{ current: number; latest: number }> {
    return this.#run("schemaVersion", schemaVersion);
  }

  async dbCheck(p: { integrity?: boolean }): Promise<void> {
    this.#run("dbCheck", (db) => checkDatabase(db, p));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch.close();
    if (this.db !== this.#given) this.db.close(false);
    if (this.#ownsGiven) this.#given.close(false);
  }

  async jobInsert(p: { jobs: JobInsertRow[]; tx?: Database }): Promise<InsertOutcome[]> {
    // With `tx` the rows are written before this returns its promise, inside the caller's db.transaction().
    if (p.tx !== undefined) return this.jobInsertSync({ jobs: p.jobs, tx: p.tx });
    // One transaction: a batch the database refuses leaves none of its rows behind. A lone row without a key is
    // one statement, atomic on its own, and skips BEGIN and COMMIT (a fifth of its cost); a keyed one keeps
    // them, so the holder it collided with is read in the same transaction.
    return this.#write("jobInsert", (db) => insertJobBatch(db, p.jobs), isOneStatement(p.jobs));
  }

  jobInsertSync(p: { jobs: JobInsertRow[]; tx: Database }): InsertOutcome[] {
    return this.#onCallersTx("jobInsert", p.tx, (tx) => insertJobBatch(tx, p.jobs));
  }

  async jobClaim(p: ClaimParams): Promise<ClaimedJob[]> {
    return this.#write("jobClaim", (db) => claimJobs(db, p));
  }

  async jobFinalize(p: { items: FinalizeItem[]; now: Date }): Promise<FinalizeOutcome[]> {
    return this.#write("jobFinalize", (db) => finalizeJobs(db, p.items, p.now));
  }

  async jobFinalizeAndClaim(p: { items: FinalizeItem[]; claim: ClaimParams }): Promise<{ outcomes: FinalizeOutcome[]; jobs: ClaimedJob[] }> {
    return this.#write("jobFinalizeAndClaim", (db) => ({ outcomes: finalizeJobs(db, p.items, p.claim.now), jobs: claimJobs(db, p.claim) }));
  }

  async leaseRenew(p: { leases: LeaseRef[]; leasedUntil: Date; now: Date }): Promise<Set<string>> {
    if (p.leases.length === 0) return new Set();
    return this.#write("leaseRenew", (db) => renewLeases(db, p));
  }

  async leaseListExpired(p: { now: Date; limit: number }): Promise<ExpiredLease[]> {
    return this.#run("leaseListExpired", (db) => listExpiredLeases(db, p));
  }

  async jobGet(p: { id: string }): Promise<JobRecord | null> {
    return this.#run("jobGet", (db) => getJob(db, p));
  }

  async jobIdsByPrefix(p: { prefix: string; limit: number }): Promise<string[]> {
    return this.#run("jobIdsByPrefix", (db) => jobIdsByPrefix(db, p));
  }

  async jobList(p: JobListParams): Promise<JobRecord[]> {
    return this.#run("jobList", (db) => listJobs(db, p));
  }

  async jobListByKeyPrefix(p: { prefix: string; limit: number; after?: string }): Promise<JobRecord[]> {
    return this.#run("jobListByKeyPrefix", (db) => listJobsByKeyPrefix(db, p));
  }

  async runList(p: { jobId: string }): Promise<RunRecord[]> {
    return this.#run("runList", (db) => listRuns(db, p));
  }

  async jobCountByKind(p: { kind?: string }): Promise<Array<{ kind: string; state: JobState; count: number }>> {
    return this.#run("jobCountByKind", (db) => countJobsByKind(db, p));
  }

  async queueStatsGet(p: { now: Date; queues?: string[] }): Promise<QueueStats> {
    return this.#run("queueStatsGet", (db) => getQueueStats(db, p));
  }

  async jobCensus(p: { now: Date }): Promise<CensusRow[]> {
    const census = new Map<string, CensusRow>();
    const last = this.#run("jobCensus", lastJobRowid);
    for (let after = 0; after < last; after += CENSUS_CHUNK_ROWS) {
      if (after > 0) await new Promise((resolve) => setImmediate(resolve));
      this.#run("jobCensus", (db) => censusChunk(db, { now: p.now, afterRowid: after, throughRowid: after + CENSUS_CHUNK_ROWS }, census));
    }
    return [...census.values()];
  }
  async jobListFailures(p: { since: Date; limit: number }): Promise<FailureRecord[]> {
    return this.#run("jobListFailures", (db) => listFailures(db, p));
  }

  async jobCancel(p: { id: string; now: Date; cascade?: boolean; actor?: string }): Promise<{ before: JobRecord; descendants: string[] } | null> {
    return this.#write("jobCancel", (db) => cancelJob(db, p));
  }

  async jobRetry(p: { id: string; now: Date; actor?: string }): Promise<{ before: JobRecord; heldBy: string | null } | null> {
    return this.#write("jobRetry", (db) => retryJob(db, p));
  }

  async jobDeleteFinished(p: { before: Date; limit: number }): Promise<number> {
    return this.#write("jobDeleteFinished", (db) => deleteFinishedJobs(db, p));
  }

  async jobCountFinished(p: { before: Date }): Promise<Array<{ state: JobState; count: number }>> {
    return this.#run("jobCountFinished", (db) => countFinishedJobs(db, p));
  }

  async periodicGet(p: { slug: string }): Promise<PeriodicRecord | null> {
    return this.#run("periodicGet", (db) => getPeriodic(db, p));
  }

  async periodicList(_p: Record<string, never>): Promise<PeriodicRecord[]> {
    return this.#run("periodicList", listPeriodics);
  }

  async periodicSave(p: PeriodicSaveRow): Promise<PeriodicRecord> {
    return this.#run("periodicSave", (db) => savePeriodic(db, p));
  }

  async periodicListDue(p: { now: Date; limit: number }): Promise<PeriodicRecord[]> {
    return this.#run("periodicListDue", (db) => listDuePeriodics(db, p));
  }

  async periodicNextRunAt(_: Record<string, never>): Promise<Date | null> {
    return this.#run("periodicNextRunAt", nextPeriodicRunAt);
  }

  async periodicFire(p: PeriodicFireParams): Promise<{ fired: boolean; inserted: InsertOutcome[] }> {
    return this.#write("periodicFire", (db) => firePeriodic(db, p));
  }

  async workflowLoad(p: { jobId: string }): Promise<{ steps: StepRecord[]; events: EventRecord[] }> {
    return this.#run("workflowLoad", (db) => loadWorkflow(db, p));
  }

  async stepSave(p: { jobId: string; leaseToken: string; step: StepWrite }): Promise<boolean> {
    return this.#write("stepSave", (db) => saveStep(db, p));
  }

  async eventEmit(p: EventEmitParams<Database>): Promise<EventEmitResult> {
    // With `tx` the event is stored before this returns its promise, inside the caller's db.transaction().
    if (p.tx !== undefined) return this.eventEmitSync({ ...p, tx: p.tx });
    return this.#write("eventEmit", (db) => emitEvent(db, p));
  }

  eventEmitSync(p: EventEmitParams<Database> & { tx: Database }): EventEmitResult {
    return this.#onCallersTx("eventEmit", p.tx, (tx) => emitEvent(tx, p));
  }

  async periodicRecordError(p: { id: string; error: string; now: Date }): Promise<boolean> {
    return this.#run("periodicRecordError", (db) => recordPeriodicError(db, p));
  }

  async periodicSetActive(p: { slug: string; active: boolean; now: Date; pausedBy?: string }): Promise<boolean> {
    return this.#run("periodicSetActive", (db) => setPeriodicActive(db, p));
  }

  async periodicRecordRun(p: PeriodicRunParams): Promise<{ failuresBefore: number; failuresAfter: number } | null> {
    return this.#write("periodicRecordRun", (db) => recordPeriodicRun(db, p));
  }

  async periodicDelete(p: { slug: string }): Promise<boolean> {
    return this.#run("periodicDelete", (db) => deletePeriodic(db, p));
  }

  async periodicDeactivateMissing(p: { source: string; keep: string[]; now: Date }): Promise<string[]> {
    return this.#run("periodicDeactivateMissing", (db) => deactivateMissingPeriodics(db, p));
  }

  async nodeHeartbeat(p: { node: NodeRow; now: Date }): Promise<{ removed: string[] }> {
    return this.#write("nodeHeartbeat", (db) => heartbeatNode(db, p));
  }

  async nodeRemove(p: { id: string }): Promise<boolean> {
    return this.#run("nodeRemove", (db) => removeNode(db, p));
  }

  async nodeList(p: { now: Date }): Promise<NodeRecord[]> {
    return this.#run("nodeList", (db) => listNodes(db, p));
  }

  async queueSetPaused(p: { name: string; by: string | null; now: Date }): Promise<boolean> {
    return this.#write("queueSetPaused", (db) => setQueuePaused(db, p));
  }

  async queueList(p: { now: Date }): Promise<QueueListRow[]> {
    return this.#run("queueList", (db) => listQueues(db, p));
  }

  async queuePausedList(_p: Record<string, never>): Promise<QueuePauseRow[]> {
    return this.#run("queuePausedList", (db) => listPausedQueues(db));
  }

  async limitSave(p: LimitSaveRow): Promise<LimitStored> {
    return this.#write("limitSave", (db) => saveLimit(db, p));
  }

  async limitDelete(p: { scope: LimitScope; name: string }): Promise<boolean> {
    return this.#write("limitDelete", (db) => deleteLimit(db, p));
  }

  async limitList(_p: Record<string, never>): Promise<LimitStored[]> {
    return this.#run("limitList", listLimits);
  }

  async breakerList(_p: Record<string, never>): Promise<BreakerRow[]> {
    return this.#run("breakerList", listBreakers);
  }

  async historyList(p: { jobId: string }): Promise<HistoryRecord[]> {
    return this.#run("historyList", (db) => listHistory(db, p));
  }

  async bindingSave(p: BindingSaveRow): Promise<BindingRecord> {
    return this.#write("bindingSave", (db) => saveBinding(db, p));
  }

  async bindingDelete(p: { pattern: string; kind: string }): Promise<boolean> {
    return this.#run("bindingDelete", (db) => deleteBinding(db, p));
  }

  async bindingList(_p: Record<string, never>): Promise<BindingRecord[]> {
    return this.#run("bindingList", listBindings);
  }

  async bindingMatch(p: { prefixes: string[]; tx?: Database }): Promise<BindingRecord[]> {
    if (p.tx !== undefined) return this.bindingMatchSync({ ...p, tx: p.tx });
    return this.#run("bindingMatch", (db) => matchBindings(db, p));
  }

  bindingMatchSync(p: { prefixes: string[]; tx: Database }): BindingRecord[] {
    return this.#onCallersTx("bindingMatch", p.tx, (tx) => matchBindings(tx, p));
  }

  wakeSubscribe(p: { listener: () => void }): () => void {
    if (this.#closed) return () => {};
    return this.#watch.subscribe(p.listener);
  }

  /** Runs `fn` on the runtime's connection, outside any transaction but its own statements'. */
  #run<T>(operation: string, fn: (db: Database) => T): T {
    return this.#normalised(operation, () => {
      this.#assertOpen();
      assertNoOpenTransaction(this.db);
      return fn(this.db);
    });
  }

  /**
   * Runs `fn` on the runtime's connection in one `BEGIN IMMEDIATE` transaction. While the application's own
   * handle holds a transaction open (perhaps across an await), waiting out the busy timeout for its write lock
   * would block this process's event loop, which that transaction needs to finish: then the write lock is tried
   * once, without waiting, and a busy database is `unavailable` at once (the caller's loop backs off). An
   * application's read transaction does not hold the lock, so the write goes ahead. `oneStatement`: `fn` runs
   * a single write statement, atomic without a transaction of its own, under the same lock rules.
   */
  #write<T>(operation: string, fn: (db: Database) => T, oneStatement = false): T {
    const atomic = oneStatement ? fn : (db: Database) => immediate(db, () => fn(db));
    return this.#run(operation, (db) => {
      if (this.#given === db || !this.#given.inTransaction) return atomic(db);
      db.run("PRAGMA busy_timeout = 0");
      try {
        return atomic(db);
      } finally {
        db.run(`PRAGMA busy_timeout = ${this.#busyTimeoutMs}`);
      }
    });
  }

  /**
   * Runs `fn` on the caller's handle, synchronously, inside whatever transaction the caller holds open there
   * (the outbox): a refusal throws inside the caller's transaction callback, so the caller's transaction
   * rolls back.
   */
  #onCallersTx<T>(operation: string, tx: unknown, fn: (tx: Database) => T): T {
    return this.#normalised(operation, () => {
      this.#assertOpen();
      return fn(asDatabase(tx));
    });
  }

  /** The seam: whatever `fn` throws leaves as a FlywheelError. */
  #normalised<T>(operation: string, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw normaliseSqliteError(error, { operation, file: this.file });
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new FlywheelError("closed", "flywheel: the SQLite driver is closed");
  }
}
