import { formatDuration } from "../core/duration.ts";
import type { LogFields, Logger } from "../core/logger.ts";
import type { JobRef } from "../runtime/events.ts";
import type { FinishEvent, Observer } from "./observer.ts";

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
 * @example attachObserver(fw.events, loggerObserver(logger));
 */
export function loggerObserver(logger: Logger): Observer {
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
      } else if (e.state === "retryable" && e.retryDelayMs !== null) {
        logger.warn(`jobs: attempt failed, retrying in ${formatDuration(e.retryDelayMs)}`, { ...fields, ...failure(e), next_attempt: e.job.attempt + 1, retry_in_ms: e.retryDelayMs });
      } else {
        // Not applied: the job was ended elsewhere (an operator's cancel) before this attempt's outcome landed.
        logger.warn("jobs: attempt failed", { ...fields, ...failure(e), applied: e.applied });
      }
    },
  };
}

/** The fields that say how an attempt failed. */
function failure(e: FinishEvent): LogFields {
  return { error_class: e.errorClass ?? undefined, error: e.errorMessage ?? undefined, exit_code: exitCodeOf(e.output), duration_ms: e.durationMs };
}
