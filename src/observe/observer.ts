import type { Logger } from "../core/logger.ts";
import type { ErrorClass, RunOutcome } from "../core/types.ts";

/** The identity of a job in observer events. */
export interface JobRef {
  id: string;
  kind: string;
  queue: string;
  attempt: number;
  runId: string;
}

/** A job was claimed by a runner. */
export interface ClaimEvent {
  job: JobRef;
  executorId: string;
}
/** A worker is about to run. */
export interface StartEvent {
  job: JobRef;
}
/** An attempt's outcome was persisted. */
export interface FinishEvent {
  job: JobRef;
  outcome: RunOutcome;
  errorClass: ErrorClass | null;
  errorMessage: string | null;
  durationMs: number;
}
/** A failed attempt will be retried. */
export interface RetryEvent {
  job: JobRef;
  nextAttempt: number;
  delayMs: number;
}

/**
 * Hooks into the job path. Calls are synchronous and must not block: do bookkeeping, not I/O. A hook that
 * throws is logged and ignored; it never affects the job.
 */
export interface Observer {
  onClaim?(event: ClaimEvent): void;
  onStart?(event: StartEvent): void;
  onFinish?(event: FinishEvent): void;
  onRetry?(event: RetryEvent): void;
}

const HOOKS = ["onClaim", "onStart", "onFinish", "onRetry"] as const;

/** Fans every event out to `observers`, isolating each from the others' exceptions. */
export function multiObserver(observers: Observer[], logger?: Logger): Required<Observer> {
  const out = {} as Required<Observer>;
  for (const hook of HOOKS) {
    out[hook] = (event: any) => {
      for (const observer of observers) {
        try {
          observer[hook]?.(event);
        } catch (error) {
          logger?.warn("flywheel: observer hook threw", { hook, error: (error as Error)?.message });
        }
      }
    };
  }
  return out;
}

/** Logs one line per finished attempt (info for success, warn otherwise) and one per retry. */
export function loggerObserver(logger: Logger): Observer {
  return {
    onFinish: (e) => {
      const fields = { job_id: e.job.id, kind: e.job.kind, run_id: e.job.runId, attempt: e.job.attempt, outcome: e.outcome, duration_ms: e.durationMs };
      if (e.outcome === "success" || e.outcome === "snooze") logger.info("jobs: attempt finished", fields);
      else logger.warn("jobs: attempt failed", { ...fields, error_class: e.errorClass, error: e.errorMessage });
    },
    onRetry: (e) => logger.info("jobs: retry scheduled", { job_id: e.job.id, kind: e.job.kind, next_attempt: e.nextAttempt, delay_ms: e.delayMs }),
  };
}
