import type { BindingRecord, FailureRecord, HistoryRecord, JobRecord, LimitRecord, NodeRecord, PeriodicRecord, QueueHealth, QueueRecord, RunRecord, StepRecord } from "../core/types.ts";
import { parseSource } from "../periodic/source.ts";

// Every record's JSON shape: what `--json` prints and what the HTTP API answers, one shape for both. Keys are
// snake_case, like the database columns and the audit trail, and dates are ISO-8601 UTC strings; scripts depend
// on these names, so add fields rather than rename them.

/** A date as the JSON shapes carry it: ISO-8601 UTC, or null. */
export const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** A job as `--json` and the API print it. */
export function jobJson(j: JobRecord) {
  return {
    id: j.id,
    kind: j.kind,
    queue: j.queue,
    state: j.state,
    args: j.args,
    priority: j.priority,
    attempt: j.attempt,
    max_attempts: j.maxAttempts,
    timeout_ms: j.timeoutMs,
    scheduled_at: iso(j.scheduledAt),
    leased_until: iso(j.leasedUntil),
    unique_key: j.uniqueKey,
    unique_active_key: j.uniqueActiveKey,
    parent_job_id: j.parentJobId,
    root_job_id: j.rootJobId,
    wait_reason: j.waitReason,
    wake_at: iso(j.wakeAt),
    executor_class: j.executorClass,
    tags: j.tags,
    metadata: j.metadata,
    created_at: iso(j.createdAt),
    updated_at: iso(j.updatedAt),
    finalized_at: iso(j.finalizedAt),
  };
}

/** A workflow step as `--json` and the API print it. */
export function stepJson(s: StepRecord) {
  return {
    key: s.key,
    status: s.status,
    output: s.output,
    error: s.error,
    attempts: s.attempts,
    run_id: s.runId,
    wake_at: iso(s.wakeAt),
    started_at: iso(s.startedAt),
    finished_at: iso(s.finishedAt),
  };
}

/** A run (attempt) as `--json` and the API print it; `output` is what the worker stored (exit code, stdout, stderr…). */
export function runJson(r: RunRecord) {
  return {
    id: r.id,
    job_id: r.jobId,
    attempt: r.attempt,
    outcome: r.outcome,
    error_class: r.errorClass,
    error_message: r.errorMessage,
    output: r.output,
    executor_id: r.executorId,
    executor_class: r.executorClass,
    started_at: iso(r.startedAt),
    finished_at: iso(r.finishedAt),
    duration_ms: r.durationMs,
    cost_micros: r.costMicros,
    enqueued_children: r.enqueuedChildren,
  };
}

/** A periodic as `--json` and the API print it. */
export function periodicJson(p: PeriodicRecord) {
  return {
    slug: p.slug,
    kind: p.kind,
    queue: p.queue,
    args: p.args,
    cron: p.cron,
    interval_seconds: p.intervalSeconds,
    timezone: p.timezone,
    overlap: p.overlap,
    catch_up: p.catchUp,
    backfill: p.backfill,
    max_attempts: p.maxAttempts,
    priority: p.priority,
    timeout_ms: p.timeoutMs,
    jitter_ms: p.jitterMs,
    // `source` keeps its meaning (api, config, cli); which config a schedule came from is a field of its own.
    ...sourceJson(p.source),
    active: p.isActive,
    next_run_at: iso(p.nextRunAt),
    last_enqueued_at: iso(p.lastEnqueuedAt),
    skipped_count: p.skippedCount,
    last_skipped_at: iso(p.lastSkippedAt),
    last_skip_reason: p.lastSkipReason,
    // What its runs came to (SPEC §20), the fields of `status` and `schedule ls`: the last run that ended
    // (`last_outcome` is its job's final state: succeeded, discarded or cancelled), and the failure streak.
    last_job_id: p.lastJobId,
    last_outcome: p.lastOutcome,
    last_exit_code: p.lastExitCode,
    last_duration_ms: p.lastDurationMs,
    last_finished_at: iso(p.lastFinishedAt),
    last_success_at: iso(p.lastSuccessAt),
    consecutive_failures: p.consecutiveFailures,
    paused_by: p.pausedBy,
  };
}

/** A periodic's source as `--json` and the API print it: `source` (api, config, cli) and `config_instance` (null unless known). */
function sourceJson(source: string): { source: string; config_instance: string | null } {
  const { origin, instance } = parseSource(source);
  return { source: origin, config_instance: instance };
}

/** Queue health as `--json` and the API print it. */
export function healthJson(h: QueueHealth) {
  return {
    counts: h.counts,
    ready: h.ready,
    inflight: h.inflight,
    scheduled_ahead: h.scheduledAhead,
    lag_seconds: h.oldestReadyAgeSeconds,
    sampled_at: h.sampledAt.toISOString(),
  };
}

/** A failure as `--json` and the API print it. */
export function failureJson(f: FailureRecord) {
  return {
    job_id: f.jobId,
    kind: f.kind,
    queue: f.queue,
    attempt: f.attempt,
    finalized_at: iso(f.finalizedAt),
    error_class: f.errorClass,
    error_message: f.errorMessage,
  };
}

/** A run's exit code, stdout and stderr when its output is a command worker's, else null. */
export function commandOutputOf(output: unknown): { exitCode: number | null; signal: string | null; stdout: string; stderr: string } | null {
  if (typeof output !== "object" || output === null || !("stdout" in output)) return null;
  const o = output as Record<string, unknown>;
  return {
    exitCode: typeof o.exit_code === "number" ? o.exit_code : null,
    signal: typeof o.signal === "string" ? o.signal : null,
    stdout: typeof o.stdout === "string" ? o.stdout : "",
    stderr: typeof o.stderr === "string" ? o.stderr : "",
  };
}

/** A node of the registry as `--json` and the API print it. */
export function nodeJson(n: NodeRecord) {
  return {
    id: n.id,
    executor_id: n.executorId,
    host: n.host,
    pid: n.pid,
    version: n.version,
    queues: n.queues,
    kinds: n.kinds,
    heartbeat_ms: n.heartbeatMs,
    started_at: iso(n.startedAt),
    heartbeat_at: iso(n.heartbeatAt),
  };
}

/** A queue as `--json` and the API print it. */
export function queueJson(q: QueueRecord) {
  return {
    name: q.name,
    paused: q.paused,
    paused_at: iso(q.pausedAt),
    paused_by: q.pausedBy,
    counts: q.counts,
    lag_seconds: q.oldestReadyAgeSeconds,
  };
}

/** A job history entry as `--json` and the API print it. */
export function historyJson(h: HistoryRecord) {
  return { at: iso(h.at), action: h.action, actor: h.actor, detail: h.detail };
}

/** A topic binding as `--json` and the API print it. */
export function bindingJson(b: BindingRecord) {
  return { pattern: b.pattern, kind: b.kind, queue: b.queue, args: b.args, source: b.source, created_at: iso(b.createdAt), updated_at: iso(b.updatedAt) };
}

/** A limit as `--json` and the API print it. */
export function limitJson(l: LimitRecord) {
  return { scope: l.scope, name: l.name, concurrency: l.concurrency, rate: l.rate, created_at: iso(l.createdAt), updated_at: iso(l.updatedAt) };
}
