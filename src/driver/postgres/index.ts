import type postgres from "postgres";
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
import * as admin from "./admin.ts";
import { skipTypeReadsOnceKnown } from "./array-types.ts";
import * as breakers from "./breakers.ts";
import * as claim from "./claim.ts";
import { pgContext, type PgContext, type PostgresExecutor } from "./context.ts";
import { closedError, toFlywheelError } from "./errors.ts";
import * as finalize from "./finalize.ts";
import * as insert from "./insert.ts";
import * as lease from "./lease.ts";
import { openLane } from "./lane.ts";
import * as limits from "./limits.ts";
import { WakeListener } from "./listen.ts";
import * as migrate from "./migrate.ts";
import * as nodes from "./nodes.ts";
import * as periodic from "./periodic.ts";
import * as queues from "./queues.ts";
import * as topics from "./topics.ts";
import * as read from "./read.ts";
import * as workflow from "./workflow.ts";
import { DEFAULT_SCHEMA, assertSchemaName, openPool } from "./url.ts";

export type { PostgresExecutor } from "./context.ts";
export { DEFAULT_SCHEMA, assertSchemaName, splitSchemaParam } from "./url.ts";

/** Options for wrapping an open pool in a {@link PostgresDriver}. `{}` means: schema `flywheel`, the pool is the caller's. */
export interface PostgresDriverOptions {
  /** Schema holding flywheel's tables; a plain identifier of at most 58 characters (default `flywheel`). */
  schema?: string;
  /** End the pool on `close()`; true when the driver opened it. */
  ownsSql?: boolean;
}

/**
 * Options for {@link PostgresDriver.open}. `{}` means: the URL's `?schema=` or `flywheel`, and the pool settings
 * of `POSTGRES_DEFAULTS` (10 connections, idle connections closed after 60 s, connections recycled after
 * 30 min, 10 s connect timeout).
 */
export interface PostgresOpenOptions {
  /** Schema holding flywheel's tables; must agree with the URL's `?schema=` when both are given. */
  schema?: string;
  /**
   * Pool size (default 10). Per node, at most these statements run at once: one claim and one lease renewal
   * per runner, one finalize batch, and up to four scheduler statements (tick, sweep, retention, health), plus
   * reads such as `/metrics`. 10 serves a node of up to three runners without queueing; beyond that use about
   * 2 × runners + 5. A statement that finds the pool busy waits for a connection, it does not fail. Outside the
   * pool: one connection for `LISTEN`, and for a pool of more than two, two more that claims, finalizes and lease
   * renewals keep to themselves (`lane.ts`).
   */
  max?: number;
}

/**
 * The PostgreSQL implementation of {@link Driver}, on postgres.js. Tables live in their own schema; claims use
 * `FOR UPDATE SKIP LOCKED` over the `jobs_ready` index; inserts `NOTIFY` the channel `<schema>_jobs` in the same
 * statement, so listeners wake when (and only if) the inserting transaction commits.
 *
 * This class only wires: each operation lives in its own module as a function of a {@link PgContext}, and every
 * error leaving a method is turned into a {@link FlywheelError} here, once. Statement texts depend only on the
 * shape of a call, so they run as prepared statements; the job path (claim, renew, finalize, insert) is one
 * statement per call, atomic without `BEGIN`. Time always comes from the caller's `now`, never the database clock.
 *
 * @example
 * const driver = PostgresDriver.open("postgres://app@db/app?schema=jobs", { max: 10 });
 * await driver.schemaMigrate();
 */
export class PostgresDriver implements Driver<PostgresExecutor> {
  readonly dialect = "postgres" as const;
  /** The pool every statement without a caller's `tx` runs on. */
  readonly sql: postgres.Sql<any>;
  /** The schema holding flywheel's tables. */
  readonly schema: string;
  /** The `LISTEN` channel inserts notify: `<schema>_jobs`. */
  readonly channel: string;
  readonly #ctx: PgContext;
  readonly #wake: WakeListener;
  readonly #ownsSql: boolean;
  #closed = false;
  /** The array types are read, so the connections this driver opens no longer read them (see array-types.ts). */
  #typesKnown = false;

  /** Wraps an open postgres.js pool; `close()` ends it only with `ownsSql`. Does not touch the database. */
  constructor(sql: postgres.Sql<any>, options: PostgresDriverOptions = {}) {
    const schema = options.schema ?? DEFAULT_SCHEMA;
    assertSchemaName(schema);
    // Our decoders read snake_case columns and postgres.js's default parsers; a camelCase transform would rename them.
    if (sql.options?.transform?.column?.from) {
      throw new FlywheelError(
        "config_invalid",
        "flywheel: the postgres.js handle transforms column names; give flywheel its own postgres() handle without `transform`",
      );
    }
    this.sql = sql;
    this.schema = schema;
    this.#ctx = pgContext(sql, schema, openLane(sql));
    this.channel = this.#ctx.channel;
    this.#wake = new WakeListener(sql, this.channel);
    this.#ownsSql = options.ownsSql ?? false;
  }

  /**
   * Opens a pool on `url`. A `?schema=` query parameter names flywheel's schema (it is removed before the URL
   * reaches postgres.js, which would send it to the server as a setting); `options.schema` may name it instead,
   * but not differently. Other query parameters (`sslmode`, `application_name`, …) pass through.
   */
  static open(url: string, options: PostgresOpenOptions = {}): PostgresDriver {
    const { sql, schema } = openPool(url, options);
    return new PostgresDriver(sql, { schema, ownsSql: true });
  }

  schemaMigrate(): Promise<{ applied: number[] }> {
    return this.#call("schemaMigrate", migrate.schemaMigrate);
  }
  schemaVersion(): Promise<{ current: number; latest: number }> {
    return this.#call("schemaVersion", migrate.schemaVersion);
  }
  dbCheck(_p: { integrity?: boolean }): Promise<void> {
    return this.#call("dbCheck", migrate.dbCheck);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#wake.close();
      // The job lane is always the driver's own, whoever opened the pool.
      if (this.#ctx.lane !== this.sql) await this.#ctx.lane.end({ timeout: 5 });
      if (this.#ownsSql) await this.sql.end({ timeout: 5 });
    } catch (error) {
      throw toFlywheelError(error, "close");
    }
  }

  jobInsert(p: { jobs: JobInsertRow[]; tx?: PostgresExecutor }): Promise<InsertOutcome[]> {
    return this.#call("jobInsert", (c) => insert.jobInsert(c, p));
  }
  jobClaim(p: ClaimParams): Promise<ClaimedJob[]> {
    return this.#call("jobClaim", (c) => claim.jobClaim(c, p));
  }
  jobFinalize(p: { items: FinalizeItem[]; now: Date }): Promise<FinalizeOutcome[]> {
    return this.#call("jobFinalize", (c) => finalize.jobFinalize(c, p));
  }
  jobFinalizeAndClaim(p: { items: FinalizeItem[]; claim: ClaimParams }): Promise<{ outcomes: FinalizeOutcome[]; jobs: ClaimedJob[] }> {
    return this.#call("jobFinalizeAndClaim", (c) => finalize.jobFinalizeAndClaim(c, p));
  }
  leaseRenew(p: { leases: LeaseRef[]; leasedUntil: Date; now: Date }): Promise<Set<string>> {
    return this.#call("leaseRenew", (c) => lease.leaseRenew(c, p));
  }
  leaseListExpired(p: { now: Date; limit: number }): Promise<ExpiredLease[]> {
    return this.#call("leaseListExpired", (c) => lease.leaseListExpired(c, p));
  }

  jobGet(p: { id: string }): Promise<JobRecord | null> {
    return this.#call("jobGet", (c) => read.jobGet(c, p));
  }
  jobIdsByPrefix(p: { prefix: string; limit: number }): Promise<string[]> {
    return this.#call("jobIdsByPrefix", (c) => read.jobIdsByPrefix(c, p));
  }
  jobList(p: JobListParams): Promise<JobRecord[]> {
    return this.#call("jobList", (c) => read.jobList(c, p));
  }
  jobListByKeyPrefix(p: { prefix: string; limit: number; after?: string }): Promise<JobRecord[]> {
    return this.#call("jobListByKeyPrefix", (c) => read.jobListByKeyPrefix(c, p));
  }
  runList(p: { jobId: string }): Promise<RunRecord[]> {
    return this.#call("runList", (c) => read.runList(c, p));
  }
  jobCountByKind(p: { kind?: string }): Promise<Array<{ kind: string; state: JobState; count: number }>> {
    return this.#call("jobCountByKind", (c) => read.jobCountByKind(c, p));
  }
  queueStatsGet(p: { now: Date; queues?: string[] }): Promise<QueueStats> {
    return this.#call("queueStatsGet", (c) => read.queueStatsGet(c, p));
  }
  jobCensus(p: { now: Date }): Promise<CensusRow[]> {
    return this.#call("jobCensus", (c) => read.jobCensus(c, p));
  }
  jobListFailures(p: { since: Date; limit: number }): Promise<FailureRecord[]> {
    return this.#call("jobListFailures", (c) => read.jobListFailures(c, p));
  }

  jobCancel(p: { id: string; now: Date; cascade?: boolean; actor?: string }): Promise<{ before: JobRecord; descendants: string[] } | null> {
    return this.#call("jobCancel", (c) => admin.jobCancel(c, p));
  }
  jobRetry(p: { id: string; now: Date; actor?: string }): Promise<{ before: JobRecord; heldBy: string | null } | null> {
    return this.#call("jobRetry", (c) => admin.jobRetry(c, p));
  }
  jobDeleteFinished(p: { before: Date; limit: number }): Promise<number> {
    return this.#call("jobDeleteFinished", (c) => admin.jobDeleteFinished(c, p));
  }
  jobCountFinished(p: { before: Date }): Promise<Array<{ state: JobState; count: number }>> {
    return this.#call("jobCountFinished", (c) => admin.jobCountFinished(c, p));
  }

  periodicGet(p: { slug: string }): Promise<PeriodicRecord | null> {
    return this.#call("periodicGet", (c) => periodic.periodicGet(c, p));
  }
  periodicList(_p: Record<string, never>): Promise<PeriodicRecord[]> {
    return this.#call("periodicList", periodic.periodicList);
  }
  periodicSave(p: PeriodicSaveRow): Promise<PeriodicRecord> {
    return this.#call("periodicSave", (c) => periodic.periodicSave(c, p));
  }
  periodicListDue(p: { now: Date; limit: number }): Promise<PeriodicRecord[]> {
    return this.#call("periodicListDue", (c) => periodic.periodicListDue(c, p));
  }

  periodicNextRunAt(_: Record<string, never>): Promise<Date | null> {
    return this.#call("periodicNextRunAt", (c) => periodic.periodicNextRunAt(c));
  }
  periodicFire(p: PeriodicFireParams): Promise<{ fired: boolean; inserted: InsertOutcome[] }> {
    return this.#call("periodicFire", (c) => periodic.periodicFire(c, p));
  }
  workflowLoad(p: { jobId: string }): Promise<{ steps: StepRecord[]; events: EventRecord[] }> {
    return this.#call("workflowLoad", (c) => workflow.workflowLoad(c, p));
  }
  stepSave(p: { jobId: string; leaseToken: string; step: StepWrite }): Promise<boolean> {
    return this.#call("stepSave", (c) => workflow.stepSave(c, p));
  }
  eventEmit(p: EventEmitParams<PostgresExecutor>): Promise<EventEmitResult> {
    return this.#call("eventEmit", (c) => workflow.eventEmit(c, p));
  }
  periodicRecordError(p: { id: string; error: string; now: Date }): Promise<boolean> {
    return this.#call("periodicRecordError", (c) => periodic.periodicRecordError(c, p));
  }

  periodicSetActive(p: { slug: string; active: boolean; now: Date; pausedBy?: string }): Promise<boolean> {
    return this.#call("periodicSetActive", (c) => periodic.periodicSetActive(c, p));
  }

  periodicRecordRun(p: PeriodicRunParams): Promise<{ failuresBefore: number; failuresAfter: number } | null> {
    return this.#call("periodicRecordRun", (c) => periodic.periodicRecordRun(c, p));
  }
  periodicDelete(p: { slug: string }): Promise<boolean> {
    return this.#call("periodicDelete", (c) => periodic.periodicDelete(c, p));
  }
  periodicDeactivateMissing(p: { source: string; keep: string[]; now: Date }): Promise<string[]> {
    return this.#call("periodicDeactivateMissing", (c) => periodic.periodicDeactivateMissing(c, p));
  }

  nodeHeartbeat(p: { node: NodeRow; now: Date }): Promise<{ removed: string[] }> {
    return this.#call("nodeHeartbeat", (c) => nodes.nodeHeartbeat(c, p));
  }
  nodeRemove(p: { id: string }): Promise<boolean> {
    return this.#call("nodeRemove", (c) => nodes.nodeRemove(c, p));
  }
  nodeList(p: { now: Date }): Promise<NodeRecord[]> {
    return this.#call("nodeList", (c) => nodes.nodeList(c, p));
  }
  queueSetPaused(p: { name: string; by: string | null; now: Date }): Promise<boolean> {
    return this.#call("queueSetPaused", (c) => queues.queueSetPaused(c, p));
  }
  queueList(p: { now: Date }): Promise<QueueListRow[]> {
    return this.#call("queueList", (c) => queues.queueList(c, p));
  }

  queuePausedList(_p: Record<string, never>): Promise<QueuePauseRow[]> {
    return this.#call("queuePausedList", (c) => queues.queuePausedList(c));
  }

  limitSave(p: LimitSaveRow): Promise<LimitStored> {
    return this.#call("limitSave", (c) => limits.limitSave(c, p));
  }
  limitDelete(p: { scope: LimitScope; name: string }): Promise<boolean> {
    return this.#call("limitDelete", (c) => limits.limitDelete(c, p));
  }
  limitList(_p: Record<string, never>): Promise<LimitStored[]> {
    return this.#call("limitList", limits.limitList);
  }

  breakerList(_p: Record<string, never>): Promise<BreakerRow[]> {
    return this.#call("breakerList", breakers.breakerList);
  }

  historyList(p: { jobId: string }): Promise<HistoryRecord[]> {
    return this.#call("historyList", (c) => topics.historyList(c, p));
  }
  bindingSave(p: BindingSaveRow): Promise<BindingRecord> {
    return this.#call("bindingSave", (c) => topics.bindingSave(c, p));
  }
  bindingDelete(p: { pattern: string; kind: string }): Promise<boolean> {
    return this.#call("bindingDelete", (c) => topics.bindingDelete(c, p));
  }
  bindingList(_p: Record<string, never>): Promise<BindingRecord[]> {
    return this.#call("bindingList", topics.bindingList);
  }
  bindingMatch(p: { prefixes: string[]; tx?: PostgresExecutor }): Promise<BindingRecord[]> {
    return this.#call("bindingMatch", (c) => topics.bindingMatch(c, p));
  }

  wakeSubscribe(p: { listener: () => void }): () => void {
    return this.#wake.subscribe(p.listener);
  }

  /** The pools this driver opened: the job lane, and the pool itself unless the caller owns it. */
  #ownConnections(): Array<postgres.Sql<any>> {
    const own = this.#ownsSql ? [this.sql] : [];
    return this.#ctx.lane === this.sql ? own : [...own, this.#ctx.lane];
  }

  /** The seam: runs one operation unless closed, and lets only FlywheelErrors out. */
  async #call<T>(method: keyof Driver, operation: (ctx: PgContext) => Promise<T>): Promise<T> {
    try {
      if (this.#closed) throw closedError();
      const result = await operation(this.#ctx);
      if (!this.#typesKnown) this.#typesKnown = skipTypeReadsOnceKnown(this.sql, this.#ownConnections());
      return result;
    } catch (error) {
      // A statement cut off by close() fails with a connection error; the cause is the close, not the network.
      throw this.#closed && !(error instanceof FlywheelError) ? closedError(error) : toFlywheelError(error, method);
    }
  }
}
