import { BACKOFF_DEFAULTS } from "../core/defaults.ts";
import { parseDuration } from "../core/duration.ts";
import type { Logger } from "../core/logger.ts";
import type { WorkerDefinition } from "../core/types.ts";

/** Backoff settings. `{}` means base 1 s, cap 1 min ({@link BACKOFF_DEFAULTS}). */
export interface BackoffOptions {
  baseMs?: number;
  capMs?: number;
  /** Returns a number in [0, 1); injectable so tests can pin jitter. */
  random?: () => number;
}

/**
 * Delay before attempt `attempt + 1` after attempt `attempt` failed: `min(base · 2^(attempt−1), cap)` times a
 * jitter drawn uniformly from [0.75, 1.25), so a burst of failures does not retry in lockstep (SPEC §6.5).
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? BACKOFF_DEFAULTS.baseMs;
  const cap = options.capMs ?? BACKOFF_DEFAULTS.capMs;
  const exponential = Math.min(base * 2 ** Math.max(0, attempt - 1), cap);
  const jitter = 0.75 + (options.random ?? Math.random)() * 0.5;
  // floor, not round: the jitter interval is half-open, so the delay must stay strictly below 1.25 × nominal.
  return Math.floor(exponential * jitter);
}

/**
 * How long a failed job waits before its next attempt: the worker's own `retryDelay` when it gives one, else
 * {@link backoffDelay}. Attempts that fail and attempts the sweep finds crashed wait alike.
 */
export class RetryPolicy {
  readonly #backoff: BackoffOptions;
  readonly #logger: Logger;

  constructor(backoff: BackoffOptions, logger: Logger) {
    this.#backoff = backoff;
    this.#logger = logger;
  }

  /** Milliseconds to wait after attempt `attempt` failed with `error`. A hook that throws or returns garbage is logged and ignored. */
  delayMs(worker: Pick<WorkerDefinition<any, any>, "kind" | "retryDelay"> | undefined, attempt: number, error: Error): number {
    if (worker?.retryDelay) {
      try {
        const custom = worker.retryDelay(attempt, error);
        if (custom !== undefined) return parseDuration(custom);
      } catch (e) {
        this.#logger.warn("jobs: retryDelay hook failed; using default backoff", { kind: worker.kind, error: (e as Error).message });
      }
    }
    return backoffDelay(attempt, this.#backoff);
  }
}
