import { ERROR_MESSAGE_LIMIT } from "../core/defaults.ts";
import { newId } from "../core/id.ts";
import type { ErrorClass, JobState, WorkResult } from "../core/types.ts";
import { CRASHED_MESSAGE } from "../driver/rules.ts";
import { FAR_FUTURE, type ClaimedJob, type ExpiredLease, type FinalOutcome, type FinalizeItem, type JobInsertRow } from "../driver/types.ts";
import type { Suspension } from "../workflow/context.ts";

// What an attempt's result means for its job: the run outcome to record and the job's next state. Pure
// functions of the result; the attempt envelope and the sweep call them, the finalizer commits what they return.

/** An attempt's decided result, ready to finalize. */
export interface AttemptResult {
  item: FinalizeItem;
  errorClass: ErrorClass | null;
  /** Set when the job goes back to `retryable`. */
  retryDelayMs: number | null;
}

/** The attempt being decided: its job, when it ended, and how long it ran. */
export interface Ended {
  job: Pick<ClaimedJob, "id" | "runId" | "leaseToken" | "attempt" | "maxAttempts">;
  now: Date;
  durationMs: number;
}

/** Whether a failure of `errorClass` on attempt `attempt` of `maxAttempts` is retried: transient, timeout and crashed failures retry while attempts remain. */
export function retries(errorClass: ErrorClass, attempt: number, maxAttempts: number): boolean {
  return (errorClass === "transient" || errorClass === "timeout" || errorClass === "crashed") && attempt < maxAttempts;
}

/** The worker returned (or returned nothing): the job succeeded, with its follow-ups. */
export function succeeded(e: Ended, result: WorkResult | undefined, followUps: JobInsertRow[]): AttemptResult {
  return finished(e, "success", "succeeded", null, result, null, followUps);
}

/** The worker returned `{ cancel }`: the job ends cancelled, a string being the reason. */
export function cancelledByWorker(e: Ended, result: WorkResult): AttemptResult {
  const reason = typeof result.cancel === "string" ? result.cancel : null;
  return finished(e, "cancelled", "cancelled", null, result, reason, []);
}

/**
 * The worker returned `{ snooze }`: the job waits `delayMs` without spending an attempt. The snoozed attempt
 * keeps its run row (unique per attempt), so it gives the budget back instead.
 */
export function snoozed(e: Ended, result: WorkResult, delayMs: number): AttemptResult {
  return finished(e, "snooze", "scheduled", new Date(e.now.getTime() + delayMs), result, null, [], 1);
}

/**
 * A workflow attempt paused to wait (a sleep, events, its children): the job becomes `waiting` until its wake
 * time (or until an event or a child's end wakes it), and the attempt is given back, as for a snooze.
 * `seenWakeSeq` is the job's `wake_seq` at claim: if it moved meanwhile, the finalize wakes the job at once.
 */
export function suspended(e: Ended, wait: Suspension, seenWakeSeq: number): AttemptResult {
  const job: FinalizeItem["job"] = {
    state: "waiting",
    scheduledAt: wait.wakeAt ?? FAR_FUTURE,
    maxAttemptsDelta: 1,
    wait: { reason: wait.reason, wakeAt: wait.wakeAt, names: wait.names, seenWakeSeq },
  };
  const run = { outcome: "suspended" as const, errorClass: null, message: null, output: { waiting_for: wait.reason, wake_at: wait.wakeAt?.toISOString() ?? null, events: wait.names }, costMicros: null };
  return { item: item(e, run, job, []), errorClass: null, retryDelayMs: null };
}

/** The attempt failed with `errorClass`; `retryDelayMs` is null when it is not retried (see {@link retries}). */
export function failed(e: Ended, errorClass: ErrorClass, message: string, output: unknown, retryDelayMs: number | null): AttemptResult {
  const job: FinalizeItem["job"] =
    retryDelayMs !== null
      ? { state: "retryable", scheduledAt: new Date(e.now.getTime() + retryDelayMs), maxAttemptsDelta: 0 }
      : { state: "discarded", scheduledAt: null, maxAttemptsDelta: 0 };
  const run = { outcome: errorClass === "timeout" ? ("timeout" as const) : ("error" as const), errorClass, message, output, costMicros: null };
  return { item: item(e, run, job, []), errorClass, retryDelayMs };
}

/**
 * The finalize item the sweep writes for an attempt whose lease expired: a failure of class `crashed`, retried
 * after `retryDelayMs` like any other failure while attempts remain, else discarded whatever the delay says. It
 * is fenced on the expired lease, so a lease renewed since is left alone.
 */
export function crashed(lease: ExpiredLease, now: Date, retryDelayMs: number): FinalizeItem {
  const e: Ended = {
    // A running job always has its claim's stub; a fresh id records nothing if one were ever missing.
    job: { id: lease.jobId, runId: lease.runId ?? newId(), leaseToken: lease.leaseToken, attempt: lease.attempt, maxAttempts: lease.maxAttempts },
    now,
    durationMs: lease.startedAt ? Math.max(0, now.getTime() - lease.startedAt.getTime()) : 0,
  };
  const retry = retries("crashed", lease.attempt, lease.maxAttempts);
  const { item } = failed(e, "crashed", CRASHED_MESSAGE, undefined, retry ? retryDelayMs : null);
  return { ...item, expiredBefore: now, run: { ...item.run, outcome: "crashed" } };
}

function finished(
  e: Ended,
  outcome: "success" | "snooze" | "cancelled",
  state: JobState,
  scheduledAt: Date | null,
  result: WorkResult | undefined,
  message: string | null,
  followUps: JobInsertRow[],
  maxAttemptsDelta = 0,
): AttemptResult {
  const cost = result?.costMicros;
  const run = { outcome, errorClass: null, message, output: result?.output, costMicros: typeof cost === "number" && Number.isFinite(cost) ? Math.round(cost) : null };
  return { item: item(e, run, { state, scheduledAt, maxAttemptsDelta }, followUps), errorClass: null, retryDelayMs: null };
}

/** The finalize item of an ended attempt. */
function item(
  e: Ended,
  run: { outcome: FinalOutcome; errorClass: ErrorClass | null; message: string | null; output: unknown; costMicros: number | null },
  job: FinalizeItem["job"],
  followUps: JobInsertRow[],
): FinalizeItem {
  return {
    jobId: e.job.id,
    runId: e.job.runId,
    leaseToken: e.job.leaseToken!,
    run: {
      outcome: run.outcome,
      errorClass: run.errorClass,
      errorMessage: run.message === null ? null : truncate(run.message),
      output: run.output,
      finishedAt: e.now,
      durationMs: e.durationMs,
      costMicros: run.costMicros,
    },
    job,
    followUps,
  };
}

function truncate(message: string): string {
  return message.length > ERROR_MESSAGE_LIMIT ? `${message.slice(0, ERROR_MESSAGE_LIMIT)}…` : message;
}

/**
 * A prefetched job that never started when its runner stopped: back to the queue now with its attempt refunded,
 * the run recorded as a snooze, so it need not wait out its lease.
 */
export function releasedUnstarted(job: Pick<ClaimedJob, "id" | "runId" | "leaseToken" | "attempt" | "maxAttempts">, now: Date): FinalizeItem {
  const { item } = finished({ job, now, durationMs: 0 }, "snooze", "available", now, undefined, "jobs: released unstarted at shutdown", [], 1);
  return item;
}
