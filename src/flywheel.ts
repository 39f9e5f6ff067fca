import type { Database } from "bun:sqlite";
import { hostname } from "node:os";
import type { Sql } from "postgres";
import { getDotPath, safeParse } from "valibot";
import type { AttemptContext } from "./jobs/attempt.ts";
import { systemClock, type Clock } from "./core/clock.ts";
import { SqliteDriver } from "./driver/sqlite/driver.ts";
import type { Driver, JobInsertRow } from "./driver/types.ts";
import { parseDuration, type Duration } from "./core/duration.ts";
import {
  AlreadyEnqueuedError,
  FlywheelError,
  JobNotFoundError,
  PeriodicNotFoundError,
  ValidationError,
} from "./core/errors.ts";
import { Finalizer } from "./jobs/finalizer.ts";
import { retryDelayOf } from "./jobs/retry-policy.ts";
import { newId } from "./core/id.ts";
import { silentLogger, type Logger } from "./core/logger.ts";
import { Metrics } from "./observe/metrics.ts";
import { multiObserver, type Observer } from "./observe/observer.ts";
import { Node, type NodeOptions } from "./node/node.ts";
import { Runner, type RunnerCore, type RunnerOptions } from "./jobs/runner.ts";
import { assertTimezone, nextFire, parseCron } from "./periodic/schedule.ts";
import { Scheduler, specOf, type SchedulerOptions } from "./maintenance/maintainer.ts";
import { isTerminal } from "./core/types.ts";
import type {
  CatchUp,
  FailureRecord,
  InsertOptions,
  JobRecord,
  JobState,
  OutboxTx,
  Overlap,
  PeriodicRecord,
  QueueHealth,
  RunRecord,
  WorkerDefinition,
} from "./core/types.ts";

/** Where to connect: a URL (`sqlite:./app.db`, `sqlite::memory:`, `postgres://…?schema=…`) or an open handle. */
export type ConnectTarget = string | { sqlite: Database } | { postgres: Sql<any> };

/** Options for {@link connect}. `{}` means: system clock, silent logger, Postgres schema `flywheel`, SQLite `synchronous=NORMAL`. */
export interface ConnectOptions {
  /** Source of all runtime time; pass a `FixedClock` in tests. */
  clock?: Clock;
  logger?: Logger;
  /** PostgreSQL schema for flywheel's tables (default `flywheel`). */
  schema?: string;
  /** SQLite durability: `full` survives power loss, `normal` (default) survives process crashes. */
  synchronous?: "normal" | "full";
  observers?: Observer[];
  /** Identifies this process in `job_runs.executor_id`; default `<hostname>:<pid>:<random>`. */
  executorId?: string;
  /** SQLite: how often to look for other processes' commits (ms). */
  wakePollMs?: number;
  /** Postgres: pool size when flywheel opens the connection (default 10). */
  maxConnections?: number;
}

/** An `insertMany` item. */
export interface InsertManyItem {
  kind: string | WorkerDefinition<any, any>;
  args?: unknown;
  options?: Omit<InsertOptions, "tx">;
}

/** Ids in input order (the holder's id where a unique key collided), plus which items collided. */
export type InsertManyResult = string[] & {
  skipped: Array<{ index: number; existingId: string; key: "unique_key" | "unique_active_key" }>;
};

/** A periodic to create or update. Exactly one of `cron` and `every`. */
export interface PeriodicSpec {
  slug: string;
  kind: string;
  cron?: string;
  /** Fixed interval, e.g. `"5m"`, at least 1 s. */
  every?: Duration;
  /** IANA timezone for `cron` (default `UTC`). */
  timezone?: string;
  queue?: string;
  args?: unknown;
  overlap?: Overlap;
  catchUp?: CatchUp;
  /** With `catchUp: "all"`, the most missed fires enqueued (default 10). */
  backfill?: number;
  maxAttempts?: number;
  priority?: number;
  timeout?: Duration;
  active?: boolean;
  /** Who manages it (`api`, `config`, `cli`); `flywheel serve` deactivates `config` periodics that left the config. */
  source?: string;
}

const DEFAULTS = { queue: "default", priority: 100, maxAttempts: 25, periodicQueue: "periodic", backfill: 10 } as const;

/**
 * Opens flywheel on a database.
 * @example
 * const fw = await connect("sqlite:./app.db");
 * await fw.migrate();
 */
export async function connect(target: ConnectTarget, options: ConnectOptions = {}): Promise<Flywheel> {
  return new Flywheel(await openDriver(target, options), options);
}

async function openDriver(target: ConnectTarget, options: ConnectOptions): Promise<Driver> {
  const sqliteOptions = { synchronous: options.synchronous, wakePollMs: options.wakePollMs };
  if (typeof target === "string") {
    if (target.startsWith("sqlite:")) {
      let path = target.slice("sqlite:".length);
      if (path.startsWith("//")) path = path.slice(2);
      if (path === "") throw new FlywheelError("config_invalid", "flywheel: sqlite URL needs a path, e.g. sqlite:./app.db or sqlite::memory:");
      return SqliteDriver.open(path, sqliteOptions);
    }
    if (/^postgres(ql)?:\/\//.test(target)) {
      const { PostgresDriver } = await import("./driver/postgres/driver.ts");
      return PostgresDriver.open(target, { schema: options.schema, max: options.maxConnections });
    }
    throw new FlywheelError("config_invalid", `flywheel: unsupported database URL ${JSON.stringify(target)}: expected sqlite:PATH or postgres://…`);
  }
  if ("sqlite" in target) return new SqliteDriver(target.sqlite, { ...sqliteOptions, ownsDatabase: false });
  const { PostgresDriver } = await import("./driver/postgres/driver.ts");
  return new PostgresDriver(target.postgres, { schema: options.schema, ownsSql: false });
}

/**
 * A flywheel client: enqueue, run, schedule, inspect. One per process and database is typical; it is cheap
 * to share across the app.
 */
export class Flywheel {
  /** The dialect driver; nothing above it writes SQL. */
  readonly driver: Driver;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Process-wide Prometheus metrics, fed by every runner of this client. */
  readonly metrics = new Metrics();
  readonly executorId: string;
  readonly #workers = new Map<string, WorkerDefinition<any, any>>();
  readonly #wakeListeners = new Set<() => void>();
  readonly #inflight = new Map<string, AbortController>();
  readonly #observer: ReturnType<typeof multiObserver>;
  readonly #finalizer: Finalizer;
  readonly #scheduler: Scheduler;
  #closed = false;

  constructor(driver: Driver, options: ConnectOptions = {}) {
    this.driver = driver;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.executorId = options.executorId ?? `${hostname()}:${process.pid}:${newId().slice(-6)}`;
    this.#observer = multiObserver([this.metrics, ...(options.observers ?? [])], this.logger);
    this.#finalizer = new Finalizer(driver, this.clock, this.logger);
    this.#scheduler = this.scheduler();
  }

  /** Creates or upgrades flywheel's tables. Idempotent. */
  async migrate(): Promise<{ applied: number[] }> {
    return this.driver.schemaMigrate();
  }

  /** Registers workers by kind; a later registration of the same kind replaces the earlier one. */
  register(...workers: WorkerDefinition<any, any>[]): this {
    for (const worker of workers) this.#workers.set(worker.kind, worker);
    return this;
  }

  /** The worker registered for `kind`. */
  worker(kind: string): WorkerDefinition<any, any> | undefined {
    return this.#workers.get(kind);
  }

  /** Kinds with a registered worker. */
  get kinds(): string[] {
    return [...this.#workers.keys()].sort();
  }

  /**
   * Enqueues one job and returns its id. With `tx`, the row is written on the caller's transaction (outbox).
   * @throws ValidationError when args fail the worker's schema; AlreadyEnqueuedError on a unique key collision.
   * @example const id = await fw.insert(summarize, { docId: "42" }, { uniqueKey: "doc:42" });
   */
  async insert<In>(kind: string | WorkerDefinition<any, In>, args: In, options: InsertOptions = {}): Promise<string> {
    // No await before jobInsert: with bun:sqlite the statement must run synchronously inside the caller's db.transaction.
    const row = this.buildRow(kind, args, options, this.clock.now());
    const [outcome] = await this.driver.jobInsert({ jobs: [row], tx: options.tx });
    if (!outcome!.inserted) throw new AlreadyEnqueuedError(outcome!.id, outcome!.key, outcome!.value);
    this.wake();
    return outcome!.id;
  }

  /** Enqueues many jobs in chunked multi-row statements; unique collisions are skipped and reported. */
  async insertMany(items: InsertManyItem[], options: { tx?: OutboxTx } = {}): Promise<InsertManyResult> {
    const now = this.clock.now();
    const rows = items.map((item, index) => {
      try {
        return this.buildRow(item.kind, item.args ?? {}, item.options ?? {}, now);
      } catch (error) {
        if (error instanceof ValidationError) throw new ValidationError(`flywheel: insertMany item ${index}: ${error.message}`, error.path);
        throw error;
      }
    });
    const outcomes = rows.length === 0 ? [] : await this.driver.jobInsert({ jobs: rows, tx: options.tx });
    const result = outcomes.map((o) => o.id) as InsertManyResult;
    result.skipped = [];
    outcomes.forEach((o, index) => {
      if (!o.inserted) result.skipped.push({ index, existingId: o.id, key: o.key });
    });
    if (result.skipped.length < outcomes.length) this.wake();
    return result;
  }

  /** Builds a validated `jobs` row with every default applied. Used by insert, follow-ups and periodics. */
  buildRow(kind: string | WorkerDefinition<any, any>, args: unknown, options: InsertOptions, now: Date): JobInsertRow {
    const worker = typeof kind === "string" ? this.#workers.get(kind) : kind;
    const kindName = typeof kind === "string" ? kind : kind.kind;
    if (!kindName) throw new ValidationError("flywheel: a job needs a kind");
    if (worker?.args) {
      const parsed = safeParse(worker.args, args);
      if (!parsed.success) {
        const issue = parsed.issues[0];
        const path = getDotPath(issue) ?? "args";
        throw new ValidationError(`flywheel: invalid args for ${kindName} at ${path}: ${issue.message}`, path);
      }
    }
    const argsJson = serializeArgs(args ?? {}, kindName);
    for (const [key, value] of [["priority", options.priority], ["maxAttempts", options.maxAttempts]] as const) {
      if (value !== undefined && !Number.isSafeInteger(value)) throw new ValidationError(`flywheel: ${key} must be an integer, got ${value}`, key);
    }
    const scheduledAt =
      options.scheduleAt ?? (options.delay !== undefined ? new Date(now.getTime() + parseDuration(options.delay)) : now);
    const timeout = options.timeout ?? worker?.timeout;
    const metadata: Record<string, unknown> = options.requestId ? { request_id: options.requestId } : {};
    return {
      id: newId(),
      kind: kindName,
      queue: options.queue ?? worker?.queue ?? DEFAULTS.queue,
      argsJson,
      priority: options.priority ?? worker?.priority ?? DEFAULTS.priority,
      state: scheduledAt.getTime() > now.getTime() ? "scheduled" : "available",
      maxAttempts: Math.max(1, options.maxAttempts ?? worker?.maxAttempts ?? DEFAULTS.maxAttempts),
      timeoutMs: timeout !== undefined ? parseDuration(timeout) : null,
      scheduledAt,
      uniqueKey: options.uniqueKey ?? null,
      uniqueActiveKey: options.uniqueActiveKey ?? null,
      parentJobId: options.parentId ?? null,
      executorClass: options.executorClass ?? "",
      tags: options.tags ?? [],
      metadata,
      createdAt: now,
    };
  }

  /** A node: runners, scheduler and HTTP server under one lifecycle. See {@link NodeOptions}. */
  node(options: NodeOptions = {}): Node {
    return new Node(this, options);
  }

  /** A runner bound to this client; nodes make these, tests and scripts rarely need to. */
  runner(options: RunnerOptions = {}, scope: { allQueues?: boolean } = {}): Runner {
    return new Runner(this.#runnerCore(), options, scope);
  }

  /** A scheduler bound to this client. */
  scheduler(options: SchedulerOptions = {}): Scheduler {
    return new Scheduler(
      {
        driver: this.driver,
        clock: this.clock,
        logger: this.logger,
        buildRow: (kind, args, opts, now) => this.buildRow(kind, args, opts, now),
        queueHealth: () => this.queueHealth(),
        retryDelay: (kind, attempt, error) => retryDelayOf(this.#workers.get(kind), attempt, error, {}, this.logger),
        wake: () => this.wake(),
      },
      options,
    );
  }

  /**
   * Works every due job on every queue and class, then returns how many attempts finished. Jobs that
   * become due later (retries, snoozes) are left for the next call: move a `FixedClock` and call again.
   */
  async runUntilIdle(options: Omit<RunnerOptions, "queues"> & { queues?: string[] } = {}): Promise<number> {
    const runner = new Runner(this.#runnerCore(), { concurrency: 1, ...options }, { allQueues: options.queues === undefined });
    return runner.run(new AbortController().signal, { untilIdle: true });
  }

  /** Claims and works one job now if it is due; returns whether it ran. */
  async workJob(id: string, options: Omit<RunnerOptions, "queues"> = {}): Promise<boolean> {
    const runner = new Runner(this.#runnerCore(), { ...options, concurrency: 1, anyClass: true }, { allQueues: true });
    return (await runner.run(new AbortController().signal, { untilIdle: true, ids: [id] })) > 0;
  }

  /** Fires due periodics once; returns how many jobs it enqueued. */
  tick(): Promise<number> {
    return this.#scheduler.tick();
  }

  /** Reclaims expired leases once; returns how many jobs it reclaimed. */
  sweep(): Promise<number> {
    return this.#scheduler.sweep();
  }

  /** Tells this process's idle runners that work may be available. */
  wake(): void {
    for (const listener of this.#wakeListeners) listener();
  }

  // ---- reads -------------------------------------------------------------------------------------------

  /** @throws JobNotFoundError */
  async findJob(id: string): Promise<JobRecord> {
    const job = await this.driver.jobGet({ id });
    if (!job) throw new JobNotFoundError(id);
    return job;
  }

  /** Jobs newest first. `{}` means the 50 newest of any state; `before` pages by id. */
  listJobs(filter: { state?: JobState; kind?: string; queue?: string; limit?: number; before?: string } = {}): Promise<JobRecord[]> {
    return this.driver.jobList({ ...filter, limit: filter.limit ?? 50 });
  }

  /** Every attempt of a job, oldest first. */
  listRuns(jobId: string): Promise<RunRecord[]> {
    return this.driver.runList({ jobId });
  }

  /** Job counts per kind and state. */
  overview(filter: { kind?: string } = {}) {
    return this.driver.jobCountByKind(filter);
  }

  /** Counts by state, ready, in-flight, scheduled ahead and lag, sampled now. */
  async queueHealth(filter: { queues?: string[] } = {}): Promise<QueueHealth> {
    const now = this.clock.now();
    const stats = await this.driver.queueStatsGet({ now, queues: filter.queues });
    return {
      counts: stats.counts,
      ready: stats.ready,
      inflight: stats.counts.running,
      scheduledAhead: stats.scheduledAhead,
      oldestReadyAgeSeconds: stats.oldestReadyAt ? Math.max(0, (now.getTime() - stats.oldestReadyAt.getTime()) / 1000) : 0,
      sampledAt: now,
    };
  }

  /** Discarded jobs with the error of their last attempt. `{}` means the last 24 h, at most 50. */
  recentFailures(filter: { since?: Date; limit?: number } = {}): Promise<FailureRecord[]> {
    const since = filter.since ?? new Date(this.clock.now().getTime() - 86_400_000);
    return this.driver.jobListFailures({ since, limit: filter.limit ?? 50 });
  }

  // ---- operator actions --------------------------------------------------------------------------------

  /**
   * Cancels a job that has not finished. A running attempt's signal is aborted (in this process at once,
   * elsewhere at its next lease renewal) and its late result is recorded as `cancelled`, not applied.
   * @throws JobNotFoundError; FlywheelError `invalid_state` for a terminal job.
   */
  async cancelJob(id: string): Promise<JobRecord> {
    const before = await this.driver.jobCancel({ id, now: this.clock.now() });
    if (!before) throw new JobNotFoundError(id);
    if (isTerminal(before.state)) throw new FlywheelError("invalid_state", `flywheel: job ${id} is already ${before.state}`);
    this.#inflight.get(id)?.abort(new Error("jobs: cancelled by operator"));
    return this.findJob(id);
  }

  /**
   * Makes a job available now. An exhausted attempt budget is raised by one so the retry can run.
   * @throws JobNotFoundError; FlywheelError `invalid_state` for a running job.
   */
  async retryJob(id: string): Promise<JobRecord> {
    const before = await this.driver.jobRetry({ id, now: this.clock.now() });
    if (!before) throw new JobNotFoundError(id);
    if (before.state === "running") throw new FlywheelError("invalid_state", `flywheel: job ${id} is running; cancel it first`);
    this.wake();
    return this.findJob(id);
  }

  /** Hard-deletes terminal jobs finalized before now − `olderThan`, and their runs; returns how many jobs. */
  deleteFinishedJobs(options: { olderThan: Duration }): Promise<number> {
    return this.#scheduler.prune(parseDuration(options.olderThan));
  }

  // ---- periodics ---------------------------------------------------------------------------------------

  /**
   * Creates or updates a periodic. A new one first fires at its next fire time after now; re-upserting an
   * unchanged schedule keeps `next_run_at`, a changed cron, interval or timezone recomputes it.
   */
  async upsertPeriodic(spec: PeriodicSpec): Promise<PeriodicRecord> {
    const row = this.#periodicRow(spec);
    const existing = await this.driver.periodicGet({ slug: spec.slug });
    const now = this.clock.now();
    const sameSchedule =
      existing !== null &&
      existing.cron === row.cron &&
      existing.intervalSeconds === row.intervalSeconds &&
      (row.cron === null || existing.timezone === row.timezone);
    const nextRunAt = sameSchedule ? existing!.nextRunAt : nextFire(specOf(row), now);
    return this.driver.periodicSave({ ...row, nextRunAt, now });
  }

  #periodicRow(spec: PeriodicSpec) {
    if (!spec.slug) throw new ValidationError("flywheel: a periodic needs a slug", "slug");
    if ((spec.cron === undefined) === (spec.every === undefined)) {
      throw new ValidationError(`flywheel: periodic ${spec.slug} needs exactly one of cron and every`, spec.cron ? "every" : "cron");
    }
    const timezone = spec.timezone ?? "UTC";
    assertTimezone(timezone);
    if (spec.cron !== undefined) parseCron(spec.cron, timezone);
    let intervalSeconds: number | null = null;
    if (spec.every !== undefined) {
      intervalSeconds = Math.round(parseDuration(spec.every) / 1000);
      if (intervalSeconds < 1) throw new ValidationError(`flywheel: periodic ${spec.slug}: every must be at least 1s`, "every");
    }
    const args = spec.args ?? {};
    const worker = this.#workers.get(spec.kind);
    if (worker?.args) this.buildRow(worker, args, {}, this.clock.now());
    return {
      slug: spec.slug,
      kind: spec.kind,
      queue: spec.queue ?? worker?.queue ?? DEFAULTS.periodicQueue,
      args,
      cron: spec.cron ?? null,
      intervalSeconds,
      timezone,
      overlap: spec.overlap ?? "skip",
      catchUp: spec.catchUp ?? "all",
      backfill: spec.backfill ?? DEFAULTS.backfill,
      maxAttempts: spec.maxAttempts ?? null,
      priority: spec.priority ?? null,
      timeoutMs: spec.timeout !== undefined ? parseDuration(spec.timeout) : null,
      source: spec.source ?? "api",
      isActive: spec.active ?? true,
    };
  }

  /** Every periodic, by slug. */
  listPeriodics(): Promise<PeriodicRecord[]> {
    return this.driver.periodicList({});
  }

  /** @throws PeriodicNotFoundError */
  async findPeriodic(slug: string): Promise<PeriodicRecord> {
    const periodic = await this.driver.periodicGet({ slug });
    if (!periodic) throw new PeriodicNotFoundError(slug);
    return periodic;
  }

  /** Pauses or resumes a periodic. Resuming does not backfill fires missed while paused. @throws PeriodicNotFoundError */
  async setPeriodicActive(slug: string, active: boolean): Promise<void> {
    const periodic = await this.findPeriodic(slug);
    if (active && !periodic.isActive) {
      const now = this.clock.now();
      await this.driver.periodicSave({ ...periodic, isActive: true, nextRunAt: nextFire(specOf(periodic), now), now });
      return;
    }
    await this.driver.periodicSetActive({ slug, active, now: this.clock.now() });
  }

  /** @throws PeriodicNotFoundError */
  async deletePeriodic(slug: string): Promise<void> {
    if (!(await this.driver.periodicDelete({ slug }))) throw new PeriodicNotFoundError(slug);
  }

  /**
   * Enqueues one fire of a periodic now, outside its schedule (its overlap rule still applies).
   * @throws PeriodicNotFoundError; AlreadyEnqueuedError when overlap=skip and a run is still active.
   */
  async triggerPeriodic(slug: string): Promise<string> {
    const p = await this.findPeriodic(slug);
    const now = this.clock.now();
    return this.insert(p.kind, p.args, {
      queue: p.queue,
      priority: p.priority ?? undefined,
      maxAttempts: p.maxAttempts ?? undefined,
      timeout: p.timeoutMs ?? undefined,
      uniqueActiveKey: p.overlap === "skip" ? `periodic:${p.slug}` : undefined,
      uniqueKey: `periodic:${p.slug}@manual:${now.getTime()}`,
    });
  }

  /** Deactivates periodics of `source` whose slug is not in `keep` (config reconcile); returns their slugs. */
  deactivateMissingPeriodics(source: string, keep: string[]): Promise<string[]> {
    return this.driver.periodicDeactivateMissing({ source, keep, now: this.clock.now() });
  }

  /** Closes the database connection. Stop nodes first. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.driver.close();
  }

  #runnerCore(): RunnerCore {
    return {
      driver: this.driver,
      clock: this.clock,
      logger: this.logger,
      observer: this.#observer,
      finalizer: this.#finalizer,
      executorId: this.executorId,
      attemptContext: (o): AttemptContext => ({
        clock: this.clock,
        logger: this.logger,
        backoff: o.backoff,
        defaultTimeoutMs: o.defaultTimeoutMs,
        worker: (kind) => this.#workers.get(kind),
        buildRow: (kind, args, opts, now) => this.buildRow(kind, args, opts, now),
        onStart: (job) => this.#observer.onStart({ job: { id: job.id, kind: job.kind, queue: job.queue, attempt: job.attempt, runId: job.runId } }),
      }),
      onWake: (listener) => {
        this.#wakeListeners.add(listener);
        const unsubscribe = this.driver.wakeSubscribe({ listener });
        return () => {
          this.#wakeListeners.delete(listener);
          unsubscribe();
        };
      },
      track: (jobId, controller) => {
        this.#inflight.set(jobId, controller);
        return () => {
          if (this.#inflight.get(jobId) === controller) this.#inflight.delete(jobId);
        };
      },
    };
  }
}

/** Args as JSON text, once per job: the enqueue path validates and stores the same string. */
function serializeArgs(args: unknown, kind: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(args);
  } catch (error) {
    throw new ValidationError(`flywheel: args for ${kind} are not JSON-serialisable: ${(error as Error).message}`, "args");
  }
  if (json === undefined) throw new ValidationError(`flywheel: args for ${kind} are not JSON-serialisable: ${typeof args}`, "args");
  return json;
}
