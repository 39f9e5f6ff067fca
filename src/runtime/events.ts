import type { Logger } from "../core/logger.ts";
import type { ErrorClass, JobState, RunOutcome } from "../core/types.ts";

/** The identity of a job attempt in events. */
export interface JobRef {
  id: string;
  kind: string;
  queue: string;
  attempt: number;
  runId: string;
  /** The slug of the periodic (schedule) that fired the job, if one did. */
  periodic?: string;
}

/**
 * Everything the runtime reports, by event name. Metrics, logs, observers and the HTTP event stream subscribe
 * here; tests await these instead of sleeping.
 */
export interface FlywheelEvents {
  /** A runner claimed a job; its `started` run stub is committed. */
  "job:claimed": { job: JobRef; executorId: string };
  /** A worker is about to run. */
  "job:started": { job: JobRef };
  /**
   * An attempt's outcome is committed. `outcome` is what was recorded (`superseded` or `cancelled` when the
   * attempt had lost its lease); `state` is the job's new state when `applied`, else null.
   */
  "job:finished": {
    job: JobRef;
    outcome: RunOutcome;
    applied: boolean;
    state: JobState | null;
    errorClass: ErrorClass | null;
    errorMessage: string | null;
    durationMs: number;
    output: unknown;
    /** When the job will be tried again (`state` is `retryable`): after this many milliseconds; else null. */
    retryDelayMs: number | null;
  };
  /** A failed attempt will be retried after `delayMs`. */
  "job:retry": { job: JobRef; nextAttempt: number; delayMs: number };
  /** The database refused an attempt's outcome for its data; the refusal was recorded and the job discarded. */
  "job:refused": { jobId: string; runId: string; error: string };
  /** An operator cancelled a job. */
  "job:cancelled": { jobId: string };
  /**
   * A due periodic fired: `enqueued` jobs written, `skipped` fires dropped (catch-up policy or overlap), `reason`
   * the main one (`overlap` when any fire overlapped). `skips` counts them by reason (`overlap`,
   * `catch_up=<policy>`); it is empty when none was dropped.
   */
  "periodic:fired": { slug: string; enqueued: number; skipped: number; reason: string | null; skips: Record<string, number> };
  /**
   * A job a periodic fired has ended (succeeded, discarded or cancelled) and the schedule's state records it:
   * `failuresBefore`/`failuresAfter` is its failure streak, so a failure after successes, or a success after
   * failures (a recovery), shows as the streak's change.
   */
  "schedule:finished": {
    slug: string;
    jobId: string;
    state: JobState;
    succeeded: boolean;
    exitCode: number | null;
    durationMs: number;
    failuresBefore: number;
    failuresAfter: number;
  };
  /** A periodic could not fire; the others carry on. */
  "periodic:failed": { slug: string; error: string };
  /**
   * The sweep returned jobs whose lease expired. Each swept attempt is also reported as a `job:finished` with
   * outcome `crashed` (its job retried or, with no attempts left, discarded).
   */
  "sweep:reclaimed": { jobs: number };
  /** Retention deleted finished jobs. */
  "retention:deleted": { jobs: number };
  /** A runner found nothing to claim and nothing running. */
  "runner:idle": { runner: string };
  /** A runner stopped claiming and waits for the `inflight` attempts it holds (SPEC §8 drain). */
  "runner:draining": { runner: string; inflight: number };
  /** A runner's claim failed; it waits `delayMs` before the next. */
  "runner:backoff": { runner: string; error: string; delayMs: number };
  /** An operator paused a queue: no node claims its jobs until it is resumed. */
  "queue:paused": { queue: string; by: string };
  /** A paused queue was resumed. */
  "queue:resumed": { queue: string };
  /**
   * A kind's circuit breaker opened (SPEC §18): `failures` consecutive failed attempts, or its probe failed. No
   * node claims the kind's jobs until `openUntil`; then one probe job runs.
   */
  "breaker:opened": { kind: string; failures: number; openUntil: Date };
  /** A kind's circuit breaker closed: its probe succeeded, and its jobs are claimed as usual again. */
  "breaker:closed": { kind: string };
  /** A node started its parts. */
  "node:started": { executorId: string };
  /** A node drained and stopped. */
  "node:stopped": { executorId: string };
}

/** An event name. */
export type FlywheelEventName = keyof FlywheelEvents;

/** A subscriber to one event. */
export type Listener<K extends FlywheelEventName> = (payload: FlywheelEvents[K]) => void;

/**
 * A typed, synchronous event bus. Listeners run in subscription order inside `emit` and must not block: do
 * bookkeeping, not I/O. A listener that throws is logged and skipped; it never affects the job path.
 * @example
 * const off = fw.events.on("job:finished", (e) => console.log(e.job.id, e.outcome));
 * const idle = await fw.events.once("runner:idle");
 */
export class EventBus {
  readonly #listeners = new Map<FlywheelEventName, Set<Listener<any>>>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Calls `listener` on every `name` event; returns the unsubscribe function. */
  on<K extends FlywheelEventName>(name: K, listener: Listener<K>): () => void {
    let set = this.#listeners.get(name);
    if (!set) this.#listeners.set(name, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  /**
   * Resolves with the next `name` event that `match` accepts (any, when omitted); rejects after `timeoutMs` of
   * wall time when given, naming what it waited for.
   */
  once<K extends FlywheelEventName>(
    name: K,
    match: (payload: FlywheelEvents[K]) => boolean = () => true,
    options: { timeoutMs?: number } = {},
  ): Promise<FlywheelEvents[K]> {
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const off = this.on(name, (payload) => {
        if (!match(payload)) return;
        off();
        clearTimeout(timer);
        resolve(payload);
      });
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          off();
          reject(new Error(`flywheel: no ${name} event within ${options.timeoutMs} ms`));
        }, options.timeoutMs);
      }
    });
  }

  /** Whether anyone listens to `name`: lets hot paths skip building a payload nobody reads. */
  has(name: FlywheelEventName): boolean {
    return (this.#listeners.get(name)?.size ?? 0) > 0;
  }

  /** Delivers `payload` to every listener of `name`, isolating each from the others' exceptions. */
  emit<K extends FlywheelEventName>(name: K, payload: FlywheelEvents[K]): void {
    const set = this.#listeners.get(name);
    if (!set) return;
    for (const listener of set) {
      try {
        listener(payload);
      } catch (error) {
        this.#logger.warn("flywheel: event listener threw", { event: name, error: (error as Error)?.message ?? String(error) });
      }
    }
  }
}
