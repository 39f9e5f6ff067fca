import type { Logger } from "../core/logger.ts";
import type { EventBus, FlywheelEvents } from "../runtime/events.ts";

export type { JobRef } from "../runtime/events.ts";
export { loggerObserver } from "./job-log.ts";

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
