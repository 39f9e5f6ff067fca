import { formatDuration } from "../core/duration.ts";
import type { LogFields, Logger } from "../core/logger.ts";
import type { JobRef } from "../runtime/events.ts";
import type { FinishEvent, Observer, RetryEvent } from "./observer.ts";

// The daemon's lines about jobs, one per thing that happened to a job, each saying it in words an operator
// greps for: `jobs: job succeeded`, `jobs: attempt failed, retrying in 2s` (warn), `jobs: job discarded`
// (error). Every line carries the job's identity, including `schedule=<slug>` for a job a schedule fired.

/** What identifies a job on a log line. */
export type JobLogRef = Pick<JobRef, "id" | "kind" | "runId" | "attempt" | "periodic">;

/** The fields every line about a job carries: `job_id`, `kind`, `schedule` (when a schedule fired it), `run_id`, `attempt`. */
export function jobLogFields(job: JobLogRef): LogFields {
  return { job_id: job.id, kind: job.kind, schedule: job.periodic, run_id: job.runId, attempt: job.attempt };
}

/** A command worker's exit code from a run's output (`exit_code`); undefined for other workers and for a signal. */
export function exitCodeOf(output: unknown): number | undefined {
  const code = (output as { exit_code?: unknown } | null | undefined)?.exit_code;
  return typeof code === "number" ? code : undefined;
}

/**
 * Logs each attempt's end in the words of what it means for the job:
 * - success: `info` `jobs: job succeeded`;
 * - a failure that will be retried: `warn` `jobs: attempt failed, retrying in <delay>` with the error;
 * - the failure that ends the job (state `discarded`): `error` `jobs: job discarded` with `error_class`,
 *   `error`, `attempts` and the command's `exit_code`;
 * - `jobs: job cancelled` (info), `jobs: attempt superseded` (warn: its lease was lost, so its outcome was
 *   recorded but not applied), `jobs: job snoozed` and `jobs: job waiting` (info);
 * - the start of each attempt at `debug`.
 * A retried failure's line is written when its `job:retry` event arrives, which the runner emits right after
 * `job:finished` in the same turn; should it not come, the line is written without the delay.
 * @example attachObserver(fw.events, loggerObserver(logger));
 */
export function loggerObserver(logger: Logger): Observer {
  // Failures waiting for their retry event, by run id; emptied within the turn that filled them.
  const awaitingRetry = new Map<string, FinishEvent>();
  const failed = (e: FinishEvent, retry: RetryEvent | null) => {
    const fields = { ...jobLogFields(e.job), ...failure(e) };
    if (retry === null) logger.warn("jobs: attempt failed, will be retried", fields);
    else logger.warn(`jobs: attempt failed, retrying in ${formatDuration(retry.delayMs)}`, { ...fields, next_attempt: retry.nextAttempt, retry_in_ms: retry.delayMs });
  };
  return {
    onStart: (e) => logger.debug("jobs: attempt started", jobLogFields(e.job)),
    onFinish: (e) => {
      const fields = jobLogFields(e.job);
      switch (e.outcome) {
        case "success":
          logger.info("jobs: job succeeded", { ...fields, exit_code: exitCodeOf(e.output), duration_ms: e.durationMs });
          return;
        case "snooze":
          logger.info("jobs: job snoozed", { ...fields, reason: e.errorMessage ?? undefined });
          return;
        case "suspended":
          logger.info("jobs: job waiting", { ...fields, waiting_for: (e.output as { waiting_for?: unknown } | null)?.waiting_for });
          return;
        case "cancelled":
          logger.info("jobs: job cancelled", { ...fields, reason: e.errorMessage ?? undefined, duration_ms: e.durationMs });
          return;
        case "superseded":
          logger.warn("jobs: attempt superseded: its lease was lost, its outcome is recorded but not applied", { ...fields, duration_ms: e.durationMs });
          return;
      }
      if (e.state === "discarded") {
        logger.error("jobs: job discarded", { ...fields, attempts: e.job.attempt, ...failure(e) });
      } else if (e.state === "retryable") {
        awaitingRetry.set(e.job.runId, e);
        queueMicrotask(() => {
          if (awaitingRetry.delete(e.job.runId)) failed(e, null);
        });
      } else {
        // Not applied: the job was ended elsewhere (an operator's cancel) before this attempt's outcome landed.
        logger.warn("jobs: attempt failed", { ...fields, ...failure(e), applied: e.applied });
      }
    },
    onRetry: (e) => {
      const finish = awaitingRetry.get(e.job.runId);
      awaitingRetry.delete(e.job.runId);
      if (finish) failed(finish, e);
      else logger.warn(`jobs: attempt failed, retrying in ${formatDuration(e.delayMs)}`, { ...jobLogFields(e.job), next_attempt: e.nextAttempt, retry_in_ms: e.delayMs });
    },
  };
}

/** The fields that say how an attempt failed. */
function failure(e: FinishEvent): LogFields {
  return { error_class: e.errorClass ?? undefined, error: e.errorMessage ?? undefined, exit_code: exitCodeOf(e.output), duration_ms: e.durationMs };
}
