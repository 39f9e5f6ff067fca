import {
  JOB_STATES,
  type BindingRecord,
  type FailureRecord,
  type HistoryRecord,
  type JobRecord,
  type JobState,
  type NodeRecord,
  type PeriodicRecord,
  type RunRecord,
} from "../core/types.ts";
import type { BreakerRow, ExpiredLease, LimitStored, QueueListRow } from "./types.ts";

/** A row as a driver's client returns it: snake_case column names. */
export type Row = Record<string, any>;

/**
 * How a dialect's client hands back column values: the only part of turning rows into records that differs
 * between the drivers (SQLite: millisecond integers and JSON text; PostgreSQL: Dates, parsed jsonb, bigint strings).
 * Every method maps null (or a missing column) to null.
 */
export interface ColumnCodec {
  date(value: unknown): Date | null;
  json(value: unknown): unknown;
  /** An integer column that may arrive as a string (bigint). */
  int(value: unknown): number | null;
  bool(value: unknown): boolean;
}

/** The record decoders for one dialect: the column-to-field mapping, written once. */
export interface RowDecoders {
  job(r: Row): JobRecord;
  run(r: Row): RunRecord;
  periodic(r: Row): PeriodicRecord;
  /** A row of `leaseListExpired`: the job's columns and its open run's `run_id`, `started_at`. */
  expiredLease(r: Row): ExpiredLease;
  /** A row of `jobListFailures`: `job_id`, the job's columns and its last run's error. */
  failure(r: Row): FailureRecord;
  /** A `job_nodes` row. */
  node(r: Row): NodeRecord;
  /** A `job_bindings` row. */
  binding(r: Row): BindingRecord;
  /** A `job_history` row. */
  history(r: Row): HistoryRecord;
  /** A `job_limits` row. */
  limit(r: Row): LimitStored;
  /** A `job_breakers` row. */
  breaker(r: Row): BreakerRow;
}

/** Builds the {@link RowDecoders} of a dialect from its {@link ColumnCodec}. */
export function rowDecoders(c: ColumnCodec): RowDecoders {
  return {
    job: (r) => ({
      id: r.id,
      kind: r.kind,
      queue: r.queue,
      args: c.json(r.args),
      priority: r.priority,
      state: r.state,
      attempt: r.attempt,
      maxAttempts: r.max_attempts,
      timeoutMs: c.int(r.timeout_ms),
      scheduledAt: c.date(r.scheduled_at)!,
      leasedUntil: c.date(r.leased_until),
      leaseToken: r.lease_token ?? null,
      uniqueKey: r.unique_key ?? null,
      uniqueActiveKey: r.unique_active_key ?? null,
      parentJobId: r.parent_job_id ?? null,
      executorClass: r.executor_class,
      tags: c.json(r.tags) as string[],
      metadata: c.json(r.metadata) as Record<string, unknown>,
      createdAt: c.date(r.created_at)!,
      updatedAt: c.date(r.updated_at)!,
      finalizedAt: c.date(r.finalized_at),
      deletedAt: c.date(r.deleted_at),
      rootJobId: r.root_job_id ?? null,
      waitReason: r.wait_reason ?? null,
      wakeAt: c.date(r.wake_at),
      wakeSeq: c.int(r.wake_seq) ?? 0,
    }),
    run: (r) => ({
      id: r.id,
      jobId: r.job_id,
      attempt: r.attempt,
      executorClass: r.executor_class,
      executorId: r.executor_id,
      startedAt: c.date(r.started_at)!,
      finishedAt: c.date(r.finished_at),
      outcome: r.outcome,
      errorClass: r.error_class ?? null,
      errorMessage: r.error_message ?? null,
      output: c.json(r.output),
      durationMs: c.int(r.duration_ms),
      costMicros: c.int(r.cost_micros),
      enqueuedChildren: r.enqueued_children,
      createdAt: c.date(r.created_at)!,
    }),
    periodic: (r) => ({
      id: r.id,
      slug: r.slug,
      kind: r.kind,
      queue: r.queue,
      args: c.json(r.args_template),
      cron: r.cron_expr ?? null,
      intervalSeconds: r.interval_seconds ?? null,
      timezone: r.timezone,
      overlap: r.overlap,
      catchUp: r.catch_up,
      backfill: r.backfill,
      maxAttempts: r.max_attempts ?? null,
      priority: r.priority ?? null,
      timeoutMs: c.int(r.timeout_ms),
      jitterMs: c.int(r.jitter_ms),
      source: r.source,
      skippedCount: r.skipped_count,
      lastSkippedAt: c.date(r.last_skipped_at),
      lastSkipReason: r.last_skip_reason ?? null,
      lastJobId: r.last_job_id ?? null,
      lastOutcome: r.last_outcome ?? null,
      lastExitCode: c.int(r.last_exit_code),
      lastDurationMs: c.int(r.last_duration_ms),
      lastFinishedAt: c.date(r.last_finished_at),
      lastSuccessAt: c.date(r.last_success_at),
      consecutiveFailures: c.int(r.consecutive_failures) ?? 0,
      pausedBy: r.paused_by ?? null,
      lastError: r.last_error ?? null,
      lastErrorAt: c.date(r.last_error_at),
      nextRunAt: c.date(r.next_run_at)!,
      lastEnqueuedAt: c.date(r.last_enqueued_at),
      isActive: c.bool(r.is_active),
      createdAt: c.date(r.created_at)!,
      updatedAt: c.date(r.updated_at)!,
    }),
    node: (r) => ({
      id: r.id,
      executorId: r.executor_id,
      host: r.host,
      pid: r.pid,
      version: r.version,
      queues: c.json(r.queues) as string[],
      kinds: c.json(r.kinds) as string[],
      heartbeatMs: c.int(r.heartbeat_ms)!,
      startedAt: c.date(r.started_at)!,
      heartbeatAt: c.date(r.heartbeat_at)!,
    }),
    binding: (r) => ({
      pattern: r.pattern,
      kind: r.kind,
      queue: r.queue ?? null,
      args: c.json(r.args),
      source: r.source,
      createdAt: c.date(r.created_at)!,
      updatedAt: c.date(r.updated_at)!,
    }),
    limit: (r) => ({
      scope: r.scope,
      name: r.name,
      concurrency: c.int(r.concurrency),
      rateCount: c.int(r.rate_count),
      rateWindowMs: r.rate_window_ms === null || r.rate_window_ms === undefined ? null : Number(r.rate_window_ms),
      createdAt: c.date(r.created_at)!,
      updatedAt: c.date(r.updated_at)!,
    }),
    breaker: (r) => ({
      kind: r.kind,
      failures: Number(r.failures),
      openedAt: c.date(r.opened_at),
      openUntil: c.date(r.open_until),
      probeJobId: r.probe_job_id ?? null,
      updatedAt: c.date(r.updated_at)!,
    }),
    history: (r) => ({
      jobId: r.job_id,
      at: c.date(r.at)!,
      action: r.action,
      actor: r.actor,
      detail: (c.json(r.detail) as Record<string, unknown> | null) ?? null,
    }),
    expiredLease: (r) => ({
      jobId: r.id,
      kind: r.kind,
      queue: r.queue,
      attempt: r.attempt,
      maxAttempts: r.max_attempts,
      leaseToken: r.lease_token,
      leasedUntil: c.date(r.leased_until)!,
      runId: r.run_id ?? null,
      startedAt: c.date(r.started_at),
    }),
    failure: (r) => ({
      jobId: r.job_id,
      kind: r.kind,
      queue: r.queue,
      attempt: r.attempt,
      finalizedAt: c.date(r.finalized_at),
      errorClass: r.error_class ?? null,
      errorMessage: r.error_message ?? null,
    }),
  };
}

/** One `(queue, state)` group of the jobs table, decoded. */
export interface QueueStateCount {
  queue: string;
  state: JobState;
  count: number;
  /** The oldest ready job's `scheduled_at` in the group, if any is ready. */
  oldestReady: Date | null;
}

/**
 * Folds per-(queue, state) counts and the `job_queues` rows into one row per queue, by name: a queue appears when
 * it holds jobs or has a row (a paused queue with no jobs still lists).
 */
export function foldQueues(counts: QueueStateCount[], states: Array<{ name: string; pausedAt: Date | null; pausedBy: string | null }>): QueueListRow[] {
  const byName = new Map<string, QueueListRow>();
  const entry = (name: string) => {
    let row = byName.get(name);
    if (!row) {
      row = { name, pausedAt: null, pausedBy: null, counts: Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>, oldestReadyAt: null };
      byName.set(name, row);
    }
    return row;
  };
  for (const c of counts) {
    const row = entry(c.queue);
    row.counts[c.state] = c.count;
    if (c.oldestReady && (!row.oldestReadyAt || c.oldestReady < row.oldestReadyAt)) row.oldestReadyAt = c.oldestReady;
  }
  for (const s of states) Object.assign(entry(s.name), { pausedAt: s.pausedAt, pausedBy: s.pausedBy });
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
