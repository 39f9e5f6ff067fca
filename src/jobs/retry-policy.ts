import { parseDuration } from "../core/duration.ts";
import type { Logger } from "../core/logger.ts";
import type { WorkerDefinition } from "../core/types.ts";

/** Backoff settings. `{}` means base 1 s, cap 1 min. */
export interface BackoffOptions {
  baseMs?: number;
  capMs?: number;
  /** Returns a number in [0, 1); injectable so tests can pin jitter. */
  random?: () => number;
}

/** Default backoff base: 1 s. */
export const DEFAULT_BACKOFF_BASE_MS = 1_000;
/** Default backoff cap: 1 min. */
export const DEFAULT_BACKOFF_CAP_MS = 60_000;

/**
 * Delay before attempt `attempt + 1` after attempt `attempt` failed: `min(base · 2^(attempt−1), cap)` times a
 * jitter drawn uniformly from [0.75, 1.25), so a burst of failures does not retry in lockstep.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? DEFAULT_BACKOFF_BASE_MS;
  const cap = options.capMs ?? DEFAULT_BACKOFF_CAP_MS;
  const exponential = Math.min(base * 2 ** Math.max(0, attempt - 1), cap);
  const jitter = 0.75 + (options.random ?? Math.random)() * 0.5;
  // floor, not round: the jitter interval is half-open, so the delay must stay strictly below 1.25 × nominal.
  return Math.floor(exponential * jitter);
}

/**
 * The delay before retrying after attempt `attempt` failed with `error`: the worker's own `retryDelay` when it
 * gives one (a hook that throws or returns garbage is logged and ignored), else {@link backoffDelay}.
 */
export function retryDelayOf(
  worker: Pick<WorkerDefinition<any, any>, "kind" | "retryDelay"> | undefined,
  attempt: number,
  error: Error,
  backoff: BackoffOptions,
  logger: Logger,
): number {
  if (worker?.retryDelay) {
    try {
      const custom = worker.retryDelay(attempt, error);
      if (custom !== undefined) return parseDuration(custom);
    } catch (e) {
      logger.warn("jobs: retryDelay hook failed; using default backoff", { kind: worker.kind, error: (e as Error).message });
    }
  }
  return backoffDelay(attempt, backoff);
}
