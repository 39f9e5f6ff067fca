import { getDotPath, safeParse } from "valibot";
import { retryDelayOf, type BackoffOptions } from "./retry-policy.ts";
import type { Clock } from "../core/clock.ts";
import { newId } from "../core/id.ts";
import { CRASHED_MESSAGE } from "../driver/rules.ts";
import type { ClaimedJob, ExpiredLease, FinalizeItem, JobInsertRow } from "../driver/types.ts";
import { parseDuration } from "../core/duration.ts";
import { PermanentError, ValidationError, WorkerError, toError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { ErrorClass, FollowUp, InsertOptions, Job, WorkResult, WorkerDefinition } from "../core/types.ts";

/** What an attempt needs from the runtime around it. */
export interface AttemptContext {
  clock: Clock;
  logger: Logger;
  backoff: BackoffOptions;
  /** Runner default timeout in ms; null for none. */
  defaultTimeoutMs: number | null;
  worker(kind: string): WorkerDefinition<any, any> | undefined;
  /** Builds a validated insert row (used for follow-ups). */
  buildRow(kind: string | WorkerDefinition<any, any>, args: unknown, options: InsertOptions, now: Date): JobInsertRow;
  onStart(job: ClaimedJob): void;
}

/** The decided result of one attempt, ready to finalize. */
export interface AttemptResult {
  item: FinalizeItem;
  errorClass: ErrorClass | null;
  /** Set when the job goes back to `retryable`. */
  retryDelayMs: number | null;
}

/** Abort reason used when a job's timeout passes. */
export class TimeoutReason extends Error {
  constructor(ms: number) {
    super(`jobs: timed out after ${ms} ms`);
    this.name = "TimeoutError";
  }
}

const ERROR_MESSAGE_LIMIT = 4000;

/**
 * Runs one claimed job to a decided result. Never throws: whatever the worker does (throws a non-Error,
 * returns garbage, ignores its signal) becomes data in the returned finalize item.
 */
export async function runAttempt(ctx: AttemptContext, job: ClaimedJob, controller: AbortController): Promise<AttemptResult> {
  const started = performance.now();
  const worker = ctx.worker(job.kind);
  if (!worker) {
    return fail(ctx, job, started, "unknown_kind", `jobs: no worker registered for kind ${JSON.stringify(job.kind)}`, undefined);
  }
  let args: unknown = job.args;
  if (worker.args) {
    const parsed = safeParse(worker.args, job.args);
    if (!parsed.success) {
      const issue = parsed.issues[0];
      const path = getDotPath(issue) ?? "args";
      return fail(ctx, job, started, "validation", `jobs: invalid args for ${job.kind} at ${path}: ${issue.message}`, undefined);
    }
    args = parsed.output;
  }

  const timeoutMs = job.timeoutMs ?? (worker.timeout !== undefined ? parseDuration(worker.timeout) : ctx.defaultTimeoutMs);
  let timedOut = false;
  const cancelTimer =
    timeoutMs !== null && timeoutMs > 0
      ? ctx.clock.setTimer(timeoutMs, () => {
          timedOut = true;
          controller.abort(new TimeoutReason(timeoutMs));
        })
      : () => {};

  const view: Job<unknown> = {
    id: job.id,
    kind: job.kind,
    queue: job.queue,
    args,
    attempt: job.attempt,
    maxAttempts: job.maxAttempts,
    runId: job.runId,
    parentId: job.parentJobId,
    tags: job.tags,
    metadata: job.metadata,
    enqueuedAt: job.createdAt,
    // Built on first use: most workers never log, and a child logger per attempt is hot-path garbage.
    get logger() {
      const logger = ctx.logger.child({ job_id: job.id, kind: job.kind, run_id: job.runId });
      Object.defineProperty(this, "logger", { value: logger });
      return logger;
    },
    signal: controller.signal,
  };

  let result: WorkResult | void = undefined;
  let thrown: Error | null = null;
  try {
    ctx.onStart(job);
    result = await worker.work(view);
  } catch (error) {
    thrown = toError(error);
  } finally {
    cancelTimer();
  }

  const now = ctx.clock.now();
  const durationMs = Math.round(performance.now() - started);
  const base = { jobId: job.id, runId: job.runId, leaseToken: job.leaseToken! };
  const returned = thrown === null && result && typeof result === "object" ? result : undefined;

  if (returned?.cancel) {
    const reason = typeof returned.cancel === "string" ? returned.cancel : null;
    return done(base, now, durationMs, returned, "cancelled", { state: "cancelled", scheduledAt: null, maxAttemptsDelta: 0 }, reason);
  }
  if (returned?.snooze !== undefined) {
    let delay: number;
    try {
      delay = parseDuration(returned.snooze);
    } catch (error) {
      return fail(ctx, job, started, "validation", `jobs: worker ${job.kind} returned an invalid snooze: ${(error as Error).message}`, undefined);
    }
    // The snoozed attempt keeps its job_runs row (unique per attempt), so it gives the budget back instead.
    return done(base, now, durationMs, returned, "snooze", {
      state: "scheduled",
      scheduledAt: new Date(now.getTime() + delay),
      maxAttemptsDelta: 1,
    });
  }
  if (thrown || timedOut) {
    const error = thrown ?? new TimeoutReason(timeoutMs ?? 0);
    const errorClass = timedOut ? "timeout" : classify(worker, error);
    return fail(ctx, job, started, errorClass, error.message, error instanceof WorkerError ? error.output : undefined, worker, error);
  }

  let followUps: JobInsertRow[];
  try {
    followUps = (returned?.followUps ?? []).map((f: FollowUp) =>
      ctx.buildRow(f.kind, f.args ?? {}, { ...f.options, parentId: f.parent ? job.id : undefined }, now),
    );
  } catch (error) {
    const message = `jobs: worker ${job.kind} returned an invalid follow-up: ${(error as Error).message}`;
    return fail(ctx, job, started, "validation", message, returned?.output);
  }
  const item = done(base, now, durationMs, returned, "success", { state: "succeeded", scheduledAt: null, maxAttemptsDelta: 0 });
  item.item.followUps = followUps;
  return item;
}

function done(
  base: Pick<FinalizeItem, "jobId" | "runId" | "leaseToken">,
  now: Date,
  durationMs: number,
  result: WorkResult | undefined,
  outcome: "success" | "snooze" | "cancelled",
  job: FinalizeItem["job"],
  message: string | null = null,
): AttemptResult {
  return {
    item: {
      ...base,
      run: {
        outcome,
        errorClass: null,
        errorMessage: message,
        output: result?.output,
        finishedAt: now,
        durationMs,
        costMicros: typeof result?.costMicros === "number" ? Math.round(result.costMicros) : null,
      },
      job,
      followUps: [],
    },
    errorClass: null,
    retryDelayMs: null,
  };
}

function fail(
  ctx: AttemptContext,
  job: ClaimedJob,
  started: number,
  errorClass: ErrorClass,
  message: string,
  output: unknown,
  worker?: WorkerDefinition<any, any>,
  error?: Error,
): AttemptResult {
  const now = ctx.clock.now();
  const retries = (errorClass === "transient" || errorClass === "timeout") && job.attempt < job.maxAttempts;
  let delay: number | null = null;
  if (retries) delay = retryDelayOf(error ? worker : undefined, job.attempt, error ?? new Error(message), ctx.backoff, ctx.logger);
  return {
    item: {
      jobId: job.id,
      runId: job.runId,
      leaseToken: job.leaseToken!,
      run: {
        outcome: errorClass === "timeout" ? "timeout" : "error",
        errorClass,
        errorMessage: message.length > ERROR_MESSAGE_LIMIT ? `${message.slice(0, ERROR_MESSAGE_LIMIT)}…` : message,
        output,
        finishedAt: now,
        durationMs: Math.round(performance.now() - started),
        costMicros: null,
      },
      job: retries
        ? { state: "retryable", scheduledAt: new Date(now.getTime() + delay!), maxAttemptsDelta: 0 }
        : { state: "discarded", scheduledAt: null, maxAttemptsDelta: 0 },
      followUps: [],
    },
    errorClass,
    retryDelayMs: delay,
  };
}

function classify(worker: WorkerDefinition<any, any>, error: Error): ErrorClass {
  if (error instanceof PermanentError) return "permanent";
  if (error instanceof ValidationError) return "validation";
  if (error instanceof WorkerError && error.errorClass) return error.errorClass;
  try {
    const custom = worker.classify?.(error);
    if (custom) return custom;
  } catch {
    // A broken classifier must not turn one failure into a lost job; fall back to the default.
  }
  return "transient";
}

/** How long to wait before retrying `kind` after attempt `attempt` failed with `error`. */
export type RetryDelay = (kind: string, attempt: number, error: Error) => number;

/**
 * The finalize item the sweep writes for an attempt whose lease expired: a failure of class `crashed`, retried
 * after the retry backoff like any other failure, and discarded once the job has used all its attempts. It is
 * fenced on the expired lease, so a lease renewed since is left alone.
 */
export function crashedItem(lease: ExpiredLease, now: Date, retryDelay: RetryDelay): FinalizeItem {
  const retries = lease.attempt < lease.maxAttempts;
  const error = new Error(CRASHED_MESSAGE);
  return {
    jobId: lease.jobId,
    // A running job always has its claim's stub; a fresh id records nothing if one were ever missing.
    runId: lease.runId ?? newId(),
    leaseToken: lease.leaseToken,
    expiredBefore: now,
    run: {
      outcome: "crashed",
      errorClass: "crashed",
      errorMessage: CRASHED_MESSAGE,
      output: undefined,
      finishedAt: now,
      durationMs: lease.startedAt ? Math.max(0, now.getTime() - lease.startedAt.getTime()) : 0,
      costMicros: null,
    },
    job: retries
      ? { state: "retryable", scheduledAt: new Date(now.getTime() + retryDelay(lease.kind, lease.attempt, error)), maxAttemptsDelta: 0 }
      : { state: "discarded", scheduledAt: null, maxAttemptsDelta: 0 },
    followUps: [],
  };
}
