import { READ_DEFAULTS } from "./core/defaults.ts";
import { parseDuration, type Duration } from "./core/duration.ts";
import { AlreadyEnqueuedError, FlywheelError, JobNotFoundError, PeriodicNotFoundError, ValidationError } from "./core/errors.ts";
import {
  isTerminal,
  type CensusRow,
  type FailureRecord,
  type InsertOptions,
  type JobRecord,
  type BindingRecord,
  type BreakerRecord,
  type LimitRecord,
  type LimitTarget,
  type HistoryRecord,
  type JobState,
  type NodeRecord,
  type PeriodicRecord,
  type QueueHealth,
  type QueueRecord,
  type RunRecord,
  type StepRecord,
  type WorkerDefinition,
} from "./core/types.ts";
import { CANCELLED_MESSAGE } from "./driver/rules.ts";
import type { Driver, EventEmitResult, InsertOutcome, JobInsertRow } from "./driver/types.ts";
import { Runner, type RunMode } from "./jobs/runner.ts";
import type { RunnerOptions } from "./jobs/settings.ts";
import { sampleQueueHealth } from "./maintenance/health.ts";
import { deleteFinishedJobs as pruneFinished } from "./maintenance/retention.ts";
import { Scheduler, type SchedulerOptions } from "./maintenance/scheduler.ts";
import { trackScheduleRuns } from "./maintenance/schedule-state.ts";
import { Node, type NodeOptions } from "./node/node.ts";
import { Metrics } from "./observe/metrics.ts";
import { attachObserver, type Observer } from "./observe/observer.ts";
import { fireKeyPrefix, fireOptions, nextRunAtFor, periodicRow, specOf, type PeriodicSpec } from "./periodic/spec.ts";
import { nextFire } from "./periodic/cron.ts";
import { createRuntime, type RuntimeContext, type RuntimeOptions } from "./runtime/context.ts";
import { assertName } from "./runtime/job-builder.ts";
import { breakerRecord } from "./messaging/breakers.ts";
import { limitRecord, limitRow, limitTarget, type LimitSettings } from "./messaging/limits.ts";
import { publishRows, type PublishOptions } from "./messaging/publish.ts";
import { assertPattern, assertTopic, literalPrefix, topicPrefixes } from "./messaging/topics.ts";
import type { EventBus } from "./runtime/events.ts";
import { eventPayload } from "./workflow/events.ts";
import { assertSignalStep, flowStepKey, isFlow, signalEvent } from "./workflow/flow.ts";
import { awaitResult } from "./workflow/result.ts";

// The facade: one public method per operation of SPEC §5–§19, each a few lines that validate and delegate to the
// part that does the work (runtime, jobs, maintenance, periodic, workflow, driver). Its length is mostly the TSDoc
// every public method carries; the logic lives in those parts.

/** A client's own options (see `ConnectOptions` for the database ones). `{}` means: system clock, silent logger, no observers. */
export interface FlywheelOptions extends RuntimeOptions {
  /** Observer hooks fed by {@link Flywheel.events}. */
  observers?: Observer[];
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

/**
 * A flywheel client: enqueue, run, schedule, inspect. One per process and database is typical; it is cheap to
 * share across the app. `Tx` is the dialect's outbox transaction type (see `connect`).
 */
export class Flywheel<Tx = unknown> {
  /** The dialect driver; nothing above it writes SQL. */
  readonly driver: Driver<Tx>;
  /** What the runtime's parts share (advanced: for building your own runners or tools). */
  readonly runtime: RuntimeContext;
  /** Process-wide Prometheus metrics, fed by every runner of this client. */
  readonly metrics = new Metrics();
  readonly #maintenance: Scheduler;
  #closed = false;

  /** Wraps an open driver; most code calls `connect` instead. */
  constructor(driver: Driver<Tx>, options: FlywheelOptions = {}) {
    this.driver = driver;
    this.runtime = createRuntime(driver, options);
    for (const observer of [this.metrics, ...(options.observers ?? [])]) attachObserver(this.runtime.events, observer);
    trackScheduleRuns(this.runtime);
    this.metrics.watchSchedules(this.runtime.events);
    this.#maintenance = new Scheduler(this.runtime);
  }

  /** The source of all runtime time. */
  get clock() {
    return this.runtime.clock;
  }

  get logger() {
    return this.runtime.logger;
  }

  /** This process in `job_runs.executor_id`. */
  get executorId(): string {
    return this.runtime.executorId;
  }

  /** What happens in this client: jobs claimed, started, finished, retried; periodics fired; sweeps; nodes. */
  get events(): EventBus {
    return this.runtime.events;
  }

  /** Creates or upgrades flywheel's tables. Idempotent. */
  migrate(): Promise<{ applied: number[] }> {
    return this.driver.schemaMigrate();
  }

  /** Registers workers by kind; a later registration of the same kind replaces the earlier one. */
  register(...workers: WorkerDefinition<any, any>[]): this {
    this.runtime.registry.register(...workers);
    return this;
  }

  /** The worker registered for `kind`. */
  worker(kind: string): WorkerDefinition<any, any> | undefined {
    return this.runtime.registry.get(kind);
  }

  /** Kinds with a registered worker. */
  get kinds(): string[] {
    return this.runtime.registry.kinds;
  }

  /**
   * Enqueues one job and returns its id. With `tx`, the row is written on the caller's open transaction and
   * exists if and only if it commits (outbox). On SQLite, whose transactions are synchronous, a refused insert
   * with `tx` throws synchronously inside the caller's `db.transaction` callback, so it rolls back.
   * @throws ValidationError for args or options flywheel refuses; AlreadyEnqueuedError on a unique key collision.
   * @example const id = await fw.insert(summarize, { docId: "42" }, { uniqueKey: "doc:42" });
   */
  insert<In>(kind: string | WorkerDefinition<any, In>, args: In, options: InsertOptions<Tx> = {}): Promise<string> {
    if (options.tx !== undefined && this.driver.jobInsertSync) {
      const row = this.runtime.builder.build(kind, args, options, this.clock.now());
      const id = inserted(this.driver.jobInsertSync({ jobs: [row], tx: options.tx })[0]!);
      this.#wakeFor([row]);
      return Promise.resolve(id);
    }
    return this.#insert(kind, args, options);
  }

  async #insert(kind: string | WorkerDefinition<any, any>, args: unknown, options: InsertOptions<Tx>): Promise<string> {
    const row = this.runtime.builder.build(kind, args, options, this.clock.now());
    const id = inserted((await this.driver.jobInsert({ jobs: [row], tx: options.tx }))[0]!);
    this.#wakeFor([row]);
    return id;
  }

  /**
   * Enqueues many jobs in chunked multi-row statements; unique collisions are skipped and reported. With `tx`,
   * as for {@link Flywheel.insert}: on SQLite a refused batch throws inside the caller's transaction callback.
   * @throws ValidationError naming the item index and field; nothing is written then.
   */
  insertMany(items: InsertManyItem[], options: { tx?: Tx } = {}): Promise<InsertManyResult> {
    if (options.tx !== undefined && this.driver.jobInsertSync) {
      const rows = this.#rows(items);
      return Promise.resolve(this.#inserted(rows, rows.length === 0 ? [] : this.driver.jobInsertSync({ jobs: rows, tx: options.tx })));
    }
    return this.#insertMany(items, options.tx);
  }

  async #insertMany(items: InsertManyItem[], tx: Tx | undefined): Promise<InsertManyResult> {
    const rows = this.#rows(items);
    return this.#inserted(rows, rows.length === 0 ? [] : await this.driver.jobInsert({ jobs: rows, tx }));
  }

  /** Wakes this process's runners for `rows`: at once for the runnable, at their time for the earliest scheduled. */
  #wakeFor(rows: JobInsertRow[]): void {
    // One wake-up for a batch: each sets its listener's flag, so a thousand say no more than one.
    let now = false;
    let later: Date | null = null;
    for (const row of rows) {
      if (row.state === "available") now = true;
      else if (later === null || row.scheduledAt < later) later = row.scheduledAt;
    }
    if (now) this.runtime.wake.wake();
    if (later) this.runtime.wake.at(later);
  }

  #rows(items: InsertManyItem[]): JobInsertRow[] {
    const now = this.clock.now();
    return items.map((item, index) => {
      try {
        return this.runtime.builder.build(item.kind, item.args ?? {}, item.options ?? {}, now);
      } catch (error) {
        if (error instanceof ValidationError) throw new ValidationError(`flywheel: insertMany item ${index}: ${error.message}`, error.path);
        throw error;
      }
    });
  }

  #inserted(rows: JobInsertRow[], outcomes: InsertOutcome[]): InsertManyResult {
    const result = outcomes.map((o) => o.id) as InsertManyResult;
    result.skipped = [];
    outcomes.forEach((o, index) => {
      if (!o.inserted) result.skipped.push({ index, existingId: o.id, key: o.key });
    });
    if (result.skipped.length < outcomes.length) this.#wakeFor(rows.filter((_, i) => outcomes[i]!.inserted));
    return result;
  }

  /** A node: runners, scheduler and HTTP server under one lifecycle. See {@link NodeOptions}. */
  node(options: NodeOptions = {}): Node {
    return new Node(this.runtime, this.metrics, options, this);
  }

  /** A runner bound to this client; nodes make these, tests and scripts rarely need to. */
  runner(options: RunnerOptions = {}, scope: { allQueues?: boolean } = {}): Runner {
    return new Runner(this.runtime, options, scope);
  }

  /** The maintenance parts (periodic enqueuer, sweeper, retention, health) bound to this client. */
  scheduler(options: SchedulerOptions = {}): Scheduler {
    return new Scheduler(this.runtime, options);
  }

  /**
   * Works every due job on every queue and class, then returns how many attempts finished. Jobs that become
   * due later (retries, snoozes) are left for the next call: move a `FixedClock` and call again.
   */
  runUntilIdle(options: Omit<RunnerOptions, "queues"> & { queues?: string[] } = {}): Promise<number> {
    return this.#runOnce({ concurrency: 1, ...options }, { allQueues: options.queues === undefined }, {});
  }

  /** Claims and works one job now if it is due; returns whether it ran. */
  async workJob(id: string, options: Omit<RunnerOptions, "queues"> = {}): Promise<boolean> {
    return (await this.#runOnce({ ...options, concurrency: 1, anyClass: true }, { allQueues: true }, { ids: [id] })) > 0;
  }

  #runOnce(options: RunnerOptions, scope: { allQueues?: boolean }, mode: RunMode): Promise<number> {
    return new Runner(this.runtime, options, scope).run(new AbortController().signal, { ...mode, untilIdle: true });
  }

  /** Fires due periodics once; returns how many jobs it enqueued. */
  tick(): Promise<number> {
    return this.#maintenance.tick();
  }

  /** Reclaims expired leases once; returns how many jobs it reclaimed. */
  sweep(): Promise<number> {
    return this.#maintenance.sweep();
  }

  /** Tells this process's idle runners that work may be available. */
  wake(): void {
    this.runtime.wake.wake();
  }

  // ---- reads -------------------------------------------------------------------------------------------

  /** @throws JobNotFoundError */
  async findJob(id: string): Promise<JobRecord> {
    const job = await this.driver.jobGet({ id });
    if (!job) throw new JobNotFoundError(id);
    return job;
  }

  /**
   * The full id of the job whose id starts with `prefix` (at least 8 characters, as people copy them from
   * tables); a full id is returned as it is.
   * @throws JobNotFoundError when none matches; FlywheelError `validation` when several do or the prefix is short.
   */
  async resolveJobId(prefix: string): Promise<string> {
    if (prefix.length >= 36) return prefix;
    if (prefix.length < 8) throw new ValidationError(`flywheel: job id ${JSON.stringify(prefix)} is too short: give at least 8 characters`, "id");
    const ids = await this.driver.jobIdsByPrefix({ prefix, limit: 2 });
    if (ids.length === 0) throw new JobNotFoundError(prefix);
    if (ids.length > 1) throw new ValidationError(`flywheel: job id prefix ${JSON.stringify(prefix)} matches several jobs (${ids.join(", ")}, …); give more of it`, "id");
    return ids[0]!;
  }

  /** Jobs newest first. `{}` means the 50 newest of any state; `before` pages by id. */
  listJobs(filter: { state?: JobState; kind?: string; queue?: string; limit?: number; before?: string } = {}): Promise<JobRecord[]> {
    return this.driver.jobList({ ...filter, limit: filter.limit ?? READ_DEFAULTS.listLimit });
  }

  /** Every attempt of a job, oldest first. */
  listRuns(jobId: string): Promise<RunRecord[]> {
    return this.driver.runList({ jobId });
  }

  /** Job counts per kind and state. */
  overview(filter: { kind?: string } = {}): Promise<Array<{ kind: string; state: JobState; count: number }>> {
    return this.driver.jobCountByKind(filter);
  }

  /** Counts by state, ready, in-flight, scheduled ahead and lag, sampled now. */
  queueHealth(filter: { queues?: string[] } = {}): Promise<QueueHealth> {
    return sampleQueueHealth(this.runtime, filter.queues);
  }

  /**
   * Live jobs counted per kind × queue × state, with ready, scheduled-ahead and oldest-ready figures per group, in
   * one pass over the table: every count the dashboard's overview shows. The pass reads the whole table, so sample
   * it (the HTTP API keeps one sample for all its clients) rather than poll it.
   */
  jobCensus(): Promise<CensusRow[]> {
    return this.driver.jobCensus({ now: this.clock.now() });
  }

  /** Discarded jobs with the error of their last attempt. `{}` means the last 24 h, at most 50. */
  recentFailures(filter: { since?: Date; limit?: number } = {}): Promise<FailureRecord[]> {
    const since = filter.since ?? new Date(this.clock.now().getTime() - READ_DEFAULTS.failuresWindowMs);
    return this.driver.jobListFailures({ since, limit: filter.limit ?? READ_DEFAULTS.failuresLimit });
  }

  // ---- operator actions --------------------------------------------------------------------------------

  /**
   * Cancels a job that has not finished. Its open run is closed as `cancelled`; a running attempt's signal is
   * aborted (in this process at once, elsewhere at its next lease renewal) and its late result is recorded on
   * that run, still `cancelled`, without being applied. With `cascade`, every unfinished descendant (the jobs it
   * spawned, theirs, …) is cancelled in the same transaction.
   * @throws JobNotFoundError; FlywheelError `invalid_state` for a terminal job.
   */
  async cancelJob(id: string, options: { cascade?: boolean; actor?: string } = {}): Promise<JobRecord> {
    const cancelled = await this.driver.jobCancel({ id, now: this.clock.now(), cascade: options.cascade, actor: options.actor ?? DEFAULT_ACTOR });
    if (!cancelled) throw new JobNotFoundError(id);
    const { before, descendants } = cancelled;
    if (isTerminal(before.state)) throw new FlywheelError("invalid_state", `flywheel: job ${id} is already ${before.state}`);
    for (const jobId of [id, ...descendants]) {
      this.runtime.inflight.abort(jobId, new Error(CANCELLED_MESSAGE));
      this.runtime.events.emit("job:cancelled", { jobId });
    }
    return this.findJob(id);
  }

  /**
   * Emits event `name` to workflow run `id` (SPEC §17). Events are latches: the last payload per name is kept,
   * and a run that waits for it (now or later, `ctx.waitForEvent`) gets it; an emit that lands while the run is
   * mid-attempt is never lost. With `tx`, the event is stored on the caller's transaction (outbox); on SQLite a
   * refusal then throws inside the caller's callback.
   * @throws JobNotFoundError; FlywheelError `invalid_state` for a finished run; ValidationError for a payload JSON
   * cannot hold or over 1 MiB.
   * @example await fw.emit(orderId, "approval", { by: "ann" });
   */
  emit(id: string, name: string, payload?: unknown, options: { tx?: Tx; actor?: string } = {}): Promise<void> {
    const params = () => ({ jobId: id, name, payloadJson: eventPayload(name, payload), now: this.clock.now(), actor: options.actor ?? DEFAULT_ACTOR });
    if (options.tx !== undefined && this.driver.eventEmitSync) {
      // Synchronous on SQLite's outbox, so a refusal throws inside the caller's transaction callback.
      this.#emitted(id, this.driver.eventEmitSync({ ...params(), tx: options.tx }));
      return Promise.resolve();
    }
    return (async () => this.#emitted(id, await this.driver.eventEmit({ ...params(), tx: options.tx })))();
  }

  #emitted(id: string, result: EventEmitResult): void {
    if (result.state === null) throw new JobNotFoundError(id);
    if (isTerminal(result.state)) throw new FlywheelError("invalid_state", `flywheel: job ${id} is already ${result.state}; it waits for no event`);
    if (result.woke) this.runtime.wake.wake();
  }

  /**
   * Waits for job `id` to end and returns its output (the last run's): for a workflow, what `run` returned.
   * Another process may run it; `timeout` (default: wait for ever) bounds the wait in wall time.
   * @throws JobNotFoundError; JobFailedError when it ended discarded or cancelled; FlywheelError `timeout`.
   */
  result<T = unknown>(id: string, options: { timeout?: Duration } = {}): Promise<T> {
    return awaitResult<T>(this.runtime, id, options.timeout === undefined ? null : parseDuration(options.timeout));
  }

  /**
   * Starts a flow's `signal: true` step with `payload` (SPEC §17). The first signal wins.
   * @throws JobNotFoundError; FlywheelError `invalid_state` when the job is not a flow, the step is not a signal
   * step, the step has already started or been signalled, or the run has ended.
   * @example await fw.signal(runId, "charge", { approvedBy: "ann" });
   */
  async signal(runId: string, step: string, payload?: unknown, options: { actor?: string } = {}): Promise<void> {
    const job = await this.findJob(runId);
    const flow = this.runtime.registry.get(job.kind);
    if (!isFlow(flow)) throw new FlywheelError("invalid_state", `flywheel: job ${runId} is a ${job.kind}, not a flow`);
    assertSignalStep(flow, job.kind, step);
    const { steps } = await this.driver.workflowLoad({ jobId: runId });
    if (steps.some((s) => s.key === flowStepKey(step))) throw new FlywheelError("invalid_state", `flywheel: step ${JSON.stringify(step)} of flow run ${runId} has already started`);
    const now = this.clock.now();
    const result = await this.driver.eventEmit({
      jobId: runId,
      name: signalEvent(step),
      payloadJson: eventPayload(step, payload),
      now,
      ifAbsent: true,
      actor: options.actor ?? DEFAULT_ACTOR,
    });
    this.#emitted(runId, result);
    if (!result.stored) throw new FlywheelError("invalid_state", `flywheel: step ${JSON.stringify(step)} of flow run ${runId} was already signalled; the first signal wins`);
  }

  /** A workflow run's steps (memoized results, sleeps, waits, spawned children), oldest first. */
  async listSteps(id: string): Promise<StepRecord[]> {
    const { steps } = await this.driver.workflowLoad({ jobId: id });
    return steps.sort((a, b) => (a.startedAt?.getTime() ?? 0) - (b.startedAt?.getTime() ?? 0) || (a.key < b.key ? -1 : 1));
  }

  /**
   * Makes a job that is not running available now; a job that used all its attempts gets one more.
   * @throws JobNotFoundError; FlywheelError `invalid_state` for a running job; AlreadyEnqueuedError when another
   * active job now holds its `uniqueActiveKey`.
   */
  async retryJob(id: string, options: { actor?: string } = {}): Promise<JobRecord> {
    const retried = await this.driver.jobRetry({ id, now: this.clock.now(), actor: options.actor ?? DEFAULT_ACTOR });
    if (!retried) throw new JobNotFoundError(id);
    const { before, heldBy } = retried;
    if (before.state === "running") throw new FlywheelError("invalid_state", `flywheel: job ${id} is running; cancel it first`);
    if (heldBy !== null) throw new AlreadyEnqueuedError(heldBy, "unique_active_key", before.uniqueActiveKey!);
    this.runtime.wake.wake();
    return this.findJob(id);
  }

  /** Hard-deletes terminal jobs finalized before now − `olderThan`, and their runs; returns how many jobs. */
  deleteFinishedJobs(options: { olderThan: Duration }): Promise<number> {
    return pruneFinished(this.runtime, parseDuration(options.olderThan));
  }

  /** What {@link deleteFinishedJobs} would delete for `olderThan`, counted per terminal state; changes nothing. */
  countFinishedJobs(options: { olderThan: Duration }): Promise<Array<{ state: JobState; count: number }>> {
    return this.driver.jobCountFinished({ before: new Date(this.clock.now().getTime() - parseDuration(options.olderThan)) });
  }

  // ---- periodics ---------------------------------------------------------------------------------------

  /**
   * Creates or updates a periodic. A new one first fires at its next fire time after now; re-upserting an
   * unchanged schedule keeps `next_run_at`, a changed cron, interval or timezone recomputes it.
   * @throws ValidationError or FlywheelError `invalid_schedule` naming what is wrong; nothing is stored then.
   */
  async upsertPeriodic(spec: PeriodicSpec): Promise<PeriodicRecord> {
    const now = this.clock.now();
    const row = periodicRow(spec, this.runtime.registry, this.runtime.builder, now);
    const existing = await this.driver.periodicGet({ slug: spec.slug });
    const saved = await this.driver.periodicSave({ ...row, nextRunAt: nextRunAtFor(row, existing, now), now });
    // A scheduler here sleeping until its next known fire looks again.
    this.runtime.wake.wake();
    return saved;
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

  /**
   * Pauses or resumes a periodic. Resuming does not backfill fires missed while paused. A pause is recorded as the
   * operator's (`pausedBy`, default `operator`): the daemon's config reconcile leaves such a schedule paused.
   * @throws PeriodicNotFoundError
   */
  async setPeriodicActive(slug: string, active: boolean, options: { pausedBy?: string } = {}): Promise<void> {
    const periodic = await this.findPeriodic(slug);
    const now = this.clock.now();
    if (active && !periodic.isActive) {
      await this.driver.periodicSave({ ...periodic, isActive: true, nextRunAt: nextFire(specOf(periodic), now), now });
    }
    await this.driver.periodicSetActive({ slug, active, now, pausedBy: options.pausedBy ?? "operator" });
  }

  /** @throws PeriodicNotFoundError */
  async deletePeriodic(slug: string): Promise<void> {
    if (!(await this.driver.periodicDelete({ slug }))) throw new PeriodicNotFoundError(slug);
  }

  /**
   * Enqueues one fire of a periodic now, outside its schedule (its overlap rule still applies).
   * @throws PeriodicNotFoundError; AlreadyEnqueuedError when overlap=skip and a run is still active.
   */
  async triggerPeriodic(slug: string, options: { actor?: string } = {}): Promise<string> {
    const p = await this.findPeriodic(slug);
    const now = this.clock.now();
    const row = this.runtime.builder.build(p.kind, p.args, { ...fireOptions(p, now, true), actor: options.actor }, now);
    // Marked as the schedule's like any fire, so its end updates the schedule's state, alerts and pings.
    row.metadata = { ...row.metadata, periodic: p.slug, triggered: true };
    const id = inserted((await this.driver.jobInsert({ jobs: [row] }))[0]!);
    this.#wakeFor([row]);
    return id;
  }

  /**
   * The jobs periodic `slug` fired (scheduled fires and triggers), newest first: `{}` means the 50 newest; with
   * `after` (a job id), only those newer than it, for polling. Jobs outlive their periodic: a deleted slug still
   * lists the jobs retention kept.
   */
  listPeriodicJobs(slug: string, options: { limit?: number; after?: string } = {}): Promise<JobRecord[]> {
    return this.driver.jobListByKeyPrefix({ prefix: fireKeyPrefix(slug), limit: options.limit ?? READ_DEFAULTS.listLimit, after: options.after });
  }

  /** Deactivates periodics of `source` whose slug is not in `keep` (config reconcile); returns their slugs. */
  deactivateMissingPeriodics(source: string, keep: string[]): Promise<string[]> {
    return this.driver.periodicDeactivateMissing({ source, keep, now: this.clock.now() });
  }

  // ---- topics and history ------------------------------------------------------------------------------

  /**
   * Binds topic `pattern` to `target.kind`: every later publish of a topic it matches enqueues one job of that
   * kind (on `target.queue`, else the kind's queue), with args `{ topic, payload }` or `target.args`. Patterns
   * follow AMQP: `*` is one token, `#` zero or more (`orders.#` matches `orders` and `orders.eu.paid`). Binding
   * the same pattern and kind again replaces the queue and args. `options.source` says who made it (`api` by
   * default; the CLI says `cli`, a daemon's config `config:<instance>`): config reconcile removes only its own.
   * @throws ValidationError for a bad pattern, kind, queue or args.
   * @example await fw.bind("orders.*.paid", { kind: "ship_order" });
   */
  async bind(
    pattern: string,
    target: { kind: string | WorkerDefinition<any, any>; queue?: string; args?: unknown },
    options: { source?: string } = {},
  ): Promise<BindingRecord> {
    assertPattern(pattern);
    const kind = typeof target.kind === "string" ? target.kind : target.kind.kind;
    assertName(kind, "kind", { required: true });
    assertName(target.queue, "queue");
    const argsJson = target.args === undefined ? null : this.runtime.builder.build(kind, target.args, {}, this.clock.now()).argsJson;
    const source = options.source ?? "api";
    assertName(source, "source", { required: true });
    return this.driver.bindingSave({ pattern, prefix: literalPrefix(pattern), kind, queue: target.queue ?? null, argsJson, source, now: this.clock.now() });
  }

  /** Removes the binding of `pattern` to `kind`; returns false when there was none. */
  unbind(pattern: string, kind: string): Promise<boolean> {
    return this.driver.bindingDelete({ pattern, kind });
  }

  /** Every binding, by pattern then kind. */
  listBindings(): Promise<BindingRecord[]> {
    return this.driver.bindingList({});
  }

  /**
   * Publishes `payload` on `topic`: one job per matching binding, written in one transaction (the caller's with
   * `tx`: the outbox, as for `insert`). Returns the jobs' ids; with `uniqueKey`, a binding that already got its
   * job for that key returns that job's id instead of a new one, so publishing again is harmless. No matching
   * binding: no job, and `[]`.
   * @throws ValidationError for a bad topic, or a payload a bound kind's args schema refuses (nothing is written).
   * @example await fw.publish("orders.eu.paid", { orderId }, { uniqueKey: orderId });
   */
  publish(topic: string, payload?: unknown, options: PublishOptions & { tx?: Tx } = {}): Promise<string[]> {
    if (options.tx !== undefined && this.driver.bindingMatchSync && this.driver.jobInsertSync) {
      // Synchronous on SQLite's outbox, so a refusal throws inside the caller's transaction callback.
      assertTopic(topic);
      const bindings = this.driver.bindingMatchSync({ prefixes: topicPrefixes(topic), tx: options.tx });
      const rows = publishRows(this.runtime.builder, topic, payload, bindings, options, this.clock.now());
      return Promise.resolve(this.#inserted(rows, rows.length === 0 ? [] : this.driver.jobInsertSync({ jobs: rows, tx: options.tx })).slice());
    }
    return (async () => {
      assertTopic(topic);
      const bindings = await this.driver.bindingMatch({ prefixes: topicPrefixes(topic), tx: options.tx });
      const rows = publishRows(this.runtime.builder, topic, payload, bindings, options, this.clock.now());
      return this.#inserted(rows, rows.length === 0 ? [] : await this.driver.jobInsert({ jobs: rows, tx: options.tx })).slice();
    })();
  }

  /**
   * A job's history (SPEC §18): its enqueue (when, by whom: `app`, `cli`, `api`, `periodic`, `publish`, `parent`)
   * then every cancel, retry and event emitted to it, oldest first. Its attempts are its runs (`listRuns`).
   * @throws JobNotFoundError.
   */
  async listHistory(id: string): Promise<HistoryRecord[]> {
    const [job, rows] = await Promise.all([this.findJob(id), this.driver.historyList({ jobId: id })]);
    return [enqueuedEntry(job), ...rows];
  }

  // ---- queues and nodes --------------------------------------------------------------------------------

  /**
   * Pauses a queue on every node: no claim takes its jobs until it is resumed; attempts already running finish.
   * `by` names who paused it (default `operator`). Returns false when it was already paused.
   * @throws ValidationError for an empty name or one with NUL.
   */
  async pauseQueue(queue: string, options: { by?: string } = {}): Promise<boolean> {
    assertName(queue, "queue", { required: true });
    const by = options.by ?? "operator";
    const changed = await this.driver.queueSetPaused({ name: queue, by, now: this.clock.now() });
    if (changed) this.runtime.events.emit("queue:paused", { queue, by });
    return changed;
  }

  /** Resumes a paused queue; its ready jobs are claimed at once. Returns false when it was not paused. */
  async resumeQueue(queue: string): Promise<boolean> {
    assertName(queue, "queue", { required: true });
    const changed = await this.driver.queueSetPaused({ name: queue, by: null, now: this.clock.now() });
    if (changed) {
      this.runtime.events.emit("queue:resumed", { queue });
      this.runtime.wake.wake();
    }
    return changed;
  }

  /** Every queue that holds jobs or is paused, by name: pause state, counts by state and lag. */
  async listQueues(): Promise<QueueRecord[]> {
    const now = this.clock.now();
    const rows = await this.driver.queueList({ now });
    return rows.map(({ oldestReadyAt, ...row }) => ({
      ...row,
      paused: row.pausedAt !== null,
      oldestReadyAgeSeconds: oldestReadyAt ? Math.max(0, (now.getTime() - oldestReadyAt.getTime()) / 1000) : 0,
    }));
  }

  /** The paused queues, by name: who paused each and when. Reads no job, so it is cheap at any table size. */
  async pausedQueues(): Promise<Array<{ name: string; pausedAt: Date; pausedBy: string | null }>> {
    return this.driver.queuePausedList({});
  }

  // ---- limits ------------------------------------------------------------------------------------------

  /**
   * Caps a kind or a queue on every node (SPEC §18): at most `concurrency` of its jobs run at once, and at most
   * `rate` attempts (`"100/1m"`: a count per duration) start in any window of that duration. The claim itself
   * keeps to it, so nodes racing for the same jobs never claim past it; jobs already running when it is set
   * finish. Setting a target's limit again replaces it (a setting left out is no longer capped).
   * @throws ValidationError naming the field: not exactly one of `kind`/`queue`, neither setting, a concurrency
   * that is not a positive integer, a rate that is not `"<count>/<duration>"` with a positive count and window.
   * @example await fw.setLimit({ kind: "send_email" }, { concurrency: 5, rate: "100/1m" });
   */
  async setLimit(target: LimitTarget, settings: LimitSettings): Promise<LimitRecord> {
    const saved = await this.driver.limitSave(limitRow(target, settings, this.clock.now()));
    // A raised limit may free jobs this process's runners are idle over.
    this.runtime.wake.wake();
    return limitRecord(saved);
  }

  /** Every limit, by scope (`kind`, then `queue`) then name. */
  async listLimits(): Promise<LimitRecord[]> {
    return (await this.driver.limitList({})).map(limitRecord);
  }

  /**
   * Removes the limit of a kind or queue; its jobs are claimable at once, on every node. Returns false when it had none.
   * @throws ValidationError when the target is not exactly one of `kind`/`queue`.
   */
  async clearLimit(target: LimitTarget): Promise<boolean> {
    const removed = await this.driver.limitDelete(limitTarget(target));
    if (removed) this.runtime.wake.wake();
    return removed;
  }

  /**
   * Every kind's circuit breaker the database holds (SPEC §18), by kind, with its state now: `closed` (counting
   * failures), `open` (not claimed until `openUntil`) or `half_open` (one probe may run; `probeJobId` once it was
   * claimed). Breakers are declared per worker: `defineWorker({ breaker: { failures: 5, openFor: "30s" } })`.
   */
  async listBreakers(): Promise<BreakerRecord[]> {
    const now = this.clock.now();
    return (await this.driver.breakerList({})).map((row) => breakerRecord(row, now));
  }

  /** The nodes alive now (their registry row heartbeat within five of their heartbeats), oldest first. */
  listNodes(): Promise<NodeRecord[]> {
    return this.driver.nodeList({ now: this.clock.now() });
  }

  /** Closes the database connection. Stop nodes first. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.driver.close();
  }
}

/** Who acts when the caller does not say: the application, through the library. */
const DEFAULT_ACTOR = "app";

/** A job's enqueue as its first history entry, read from the job itself (no row is written per enqueue). */
function enqueuedEntry(job: JobRecord): HistoryRecord {
  const m = job.metadata;
  const actor = typeof m.enqueued_by === "string" ? m.enqueued_by : typeof m.periodic === "string" ? "periodic" : job.parentJobId !== null ? "parent" : DEFAULT_ACTOR;
  const detail: Record<string, unknown> = {};
  for (const key of ["periodic", "topic", "binding", "request_id"]) if (m[key] !== undefined) detail[key] = m[key];
  if (job.parentJobId !== null) detail.parent_id = job.parentJobId;
  return { jobId: job.id, at: job.createdAt, action: "enqueued", actor, detail: Object.keys(detail).length > 0 ? detail : null };
}

/** The inserted id, or the collision as an {@link AlreadyEnqueuedError}. */
function inserted(outcome: InsertOutcome): string {
  if (!outcome.inserted) throw new AlreadyEnqueuedError(outcome.id, outcome.key, outcome.value);
  return outcome.id;
}
