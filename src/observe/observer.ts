import type { Logger } from "../core/logger.ts";
import type { EventBus, FlywheelEvents } from "../runtime/events.ts";

export type { JobRef } from "../runtime/events.ts";

/** A job was claimed by a runner. */
export type ClaimEvent = FlywheelEvents["job:claimed"];
/** A worker is about to run. */
export type StartEvent = FlywheelEvents["job:started"];
/** An attempt's outcome was persisted. */
export type FinishEvent = FlywheelEvents["job:finished"];
/** A failed attempt will be retried. */
export type RetryEvent = FlywheelEvents["job:retry"];

/**
 * Hooks into the job path (SPEC §9), fed by the client's event bus (`fw.events`). Calls are synchronous and
 * must not block: do bookkeeping, not I/O. A hook that throws is logged and ignored; it never affects the job.
 */
export interface Observer {
  onClaim?(event: ClaimEvent): void;
  onStart?(event: StartEvent): void;
  onFinish?(event: FinishEvent): void;
  onRetry?(event: RetryEvent): void;
}

/** Which event feeds which hook. */
const HOOKS = [
  ["job:claimed", "onClaim"],
  ["job:started", "onStart"],
  ["job:finished", "onFinish"],
  ["job:retry", "onRetry"],
] as const;

/** Subscribes `observer`'s hooks to `events`; returns the function that unsubscribes them. */
export function attachObserver(events: EventBus, observer: Observer): () => void {
  const offs: Array<() => void> = [];
  for (const [name, hook] of HOOKS) {
    const fn = observer[hook];
    if (fn) offs.push(events.on(name, (e: any) => fn.call(observer, e)));
  }
  return () => offs.forEach((off) => off());
}

/** One observer that fans every hook out to `observers`, isolating each from the others' exceptions. */
export function multiObserver(observers: Observer[], logger?: Logger): Required<Observer> {
  const out = {} as Required<Observer>;
  for (const [, hook] of HOOKS) {
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
