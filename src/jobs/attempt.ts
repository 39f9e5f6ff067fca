import { parseDuration } from "../core/duration.ts";
import { PermanentError, ValidationError, WorkerError, toError } from "../core/errors.ts";
import type { ErrorClass, FollowUp, Job, WorkResult, WorkerDefinition } from "../core/types.ts";
import type { ClaimedJob, JobInsertRow } from "../driver/types.ts";
import { jobLogFields } from "../observe/job-log.ts";
import type { RuntimeContext } from "../runtime/context.ts";
import type { JobRef } from "../runtime/events.ts";
import { validateArgs } from "../runtime/job-builder.ts";
import { isWorkflow } from "../workflow/define-workflow.ts";
import { runWorkflow, type WorkflowResult } from "../workflow/run.ts";
import { cancelledByWorker, failed, retries, snoozed, succeeded, suspended, type AttemptResult, type Ended } from "./outcome.ts";
import type { RetryPolicy } from "./retry-policy.ts";

/** What a runner hands each attempt besides the runtime: its retry policy and default timeout. */
export interface AttemptSettings {
  retry: RetryPolicy;
  /** Timeout for jobs whose row and worker set none; null for none. */
  defaultTimeoutMs: number | null;
}

/** Abort reason used when a job's timeout passes. */
class TimeoutReason extends Error {
  constructor(ms: number) {
    super(`jobs: timed out after ${ms} ms`);
    this.name = "TimeoutError";
  }
}

/** A job's identity in events. */
export function refOf(job: ClaimedJob): JobRef {
  const ref: JobRef = { id: job.id, kind: job.kind, queue: job.queue, attempt: job.attempt, runId: job.runId };
  const periodic = job.metadata.periodic;
  if (typeof periodic === "string") ref.periodic = periodic;
  return ref;
}

/**
 * Runs one claimed job to a decided result. The envelope is total: whatever the worker or its definition does
 * (throws a non-Error, returns garbage or an output that is not JSON, has an unusable timeout, a `classify` or
 * `retryDelay` hook that throws, ignores its signal) becomes data in the returned result; it never throws.
 */
export async function runAttempt(ctx: RuntimeContext, settings: AttemptSettings, job: ClaimedJob, controller: AbortController): Promise<AttemptResult> {
  const started = performance.now();
  const ended = (): Ended => ({ job, now: ctx.clock.now(), durationMs: Math.round(performance.now() - started) });
  try {
    return await attempt(ctx, settings, job, controller, ended);
  } catch (error) {
    // Only the envelope's own steps can land here (the worker's throws are caught inside); no retry can fix them.
    return failed(ended(), "validation", `jobs: ${job.kind}: ${toError(error).message}`, undefined, null);
  }
}

async function attempt(
  ctx: RuntimeContext,
  settings: AttemptSettings,
  job: ClaimedJob,
  controller: AbortController,
  ended: () => Ended,
): Promise<AttemptResult> {
  const worker = ctx.registry.get(job.kind);
  if (!worker) return failed(ended(), "unknown_kind", `jobs: no worker registered for kind ${JSON.stringify(job.kind)}`, undefined, null);
  let args: unknown;
  try {
    args = validateArgs(worker, job.args, "jobs");
  } catch (error) {
    return failed(ended(), "validation", (error as Error).message, undefined, null);
  }

  const timeoutMs = job.timeoutMs ?? (worker.timeout !== undefined ? parseDuration(worker.timeout) : settings.defaultTimeoutMs);
  let timedOut = false;
  const cancelTimer =
    timeoutMs !== null && timeoutMs > 0
      ? ctx.clock.setTimer(timeoutMs, () => {
          timedOut = true;
          controller.abort(new TimeoutReason(timeoutMs));
        })
      : () => {};

  let result: WorkResult | void = undefined;
  let thrown: Error | null = null;
  try {
    ctx.events.emit("job:started", { job: refOf(job) });
    const view = jobView(ctx, job, args, controller.signal);
    result = isWorkflow(worker) ? await runWorkflow(ctx, job, view, worker) : await worker.work(view);
  } catch (error) {
    thrown = toError(error);
  } finally {
    cancelTimer();
  }

  const e = ended();
  const returned: WorkflowResult | undefined = thrown === null && result && typeof result === "object" ? result : undefined;
  if (returned?.suspend) return suspended(e, returned.suspend, job.wakeSeq);
  if (returned?.cancel) return cancelledByWorker(e, returned);
  if (returned?.snooze !== undefined) {
    let delay: number;
    try {
      delay = parseDuration(returned.snooze);
    } catch (error) {
      return failed(e, "validation", `jobs: worker ${job.kind} returned an invalid snooze: ${(error as Error).message}`, undefined, null);
    }
    return snoozed(e, returned, delay);
  }
  if (thrown || timedOut) {
    const error = thrown ?? new TimeoutReason(timeoutMs ?? 0);
    const errorClass = timedOut ? "timeout" : classify(worker, error);
    const output = error instanceof WorkerError ? error.output : undefined;
    const delay = retries(errorClass, job.attempt, job.maxAttempts) ? settings.retry.delayMs(worker, job.attempt, error) : null;
    return failed(e, errorClass, error.message, isJson(output) ? output : null, delay);
  }
  if (!isJson(returned?.output)) {
    return failed(e, "validation", `jobs: worker ${job.kind} returned an output that is not JSON-serialisable`, undefined, null);
  }

  let followUps: JobInsertRow[];
  try {
    followUps = (returned?.followUps ?? []).map((f: FollowUp) =>
      ctx.builder.build(f.kind, f.args ?? {}, { ...f.options, parentId: f.parent ? job.id : undefined }, e.now),
    );
  } catch (error) {
    return failed(e, "validation", `jobs: worker ${job.kind} returned an invalid follow-up: ${(error as Error).message}`, returned?.output, null);
  }
  return succeeded(e, returned, followUps);
}

/** The job as its worker sees it. */
function jobView(ctx: RuntimeContext, job: ClaimedJob, args: unknown, signal: AbortSignal): Job<unknown> {
  return {
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
      const logger = ctx.logger.child(jobLogFields(refOf(job)));
      Object.defineProperty(this, "logger", { value: logger });
      return logger;
    },
    signal,
  };
}

/** A thrown error's class: the flywheel errors say theirs, then the worker's `classify` hook, else `transient`. */
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

/** Whether JSON can hold `value` (undefined: nothing to hold). An output the database cannot store must not block the finalize. */
function isJson(value: unknown): boolean {
  if (value === undefined) return true;
  try {
    return JSON.stringify(value) !== undefined;
  } catch {
    return false;
  }
}
