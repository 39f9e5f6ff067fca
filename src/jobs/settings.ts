import { BACKOFF_DEFAULTS, RUNNER_DEFAULTS } from "../core/defaults.ts";
import { parseDuration, type Duration } from "../core/duration.ts";
import { ValidationError } from "../core/errors.ts";

/**
 * One runner's settings. `{}` means ({@link RUNNER_DEFAULTS}): queue `default`, 10 concurrent jobs, executor
 * class `""` (plus unclassed jobs), 30 s lease renewed every 10 s, an idle poll of 250 ms doubling to 2 s while
 * nothing is found (wake-ups claim at once), retry backoff 1 s … 1 min,
 * 30 min default job timeout, no prefetch.
 */
export interface RunnerOptions {
  queues?: string[];
  concurrency?: number;
  /** This runner serves jobs of this class and unclassed (`""`) jobs. */
  executorClass?: string;
  /** Serve every executor class. */
  anyClass?: boolean;
  lease?: Duration;
  /** Idle poll interval at first; it doubles while claims find nothing, up to `idlePollMax`. */
  pollInterval?: Duration;
  /** The longest idle poll (default 2 s, never below `pollInterval`). */
  idlePollMax?: Duration;
  backoff?: { base?: Duration; cap?: Duration };
  /** Timeout for jobs whose kind and row set none; `null` for none. */
  jobTimeout?: Duration | null;
  /**
   * Opt-in: claim up to this many jobs beyond the free slots and keep them in memory until a slot frees, so
   * claims come in larger batches (the buffer is refilled once it has run down to half). Buffered jobs hold
   * leases (renewed like running ones) and their run stub's `started_at` is the claim time; on shutdown the
   * unstarted ones are released with their attempt refunded. Default 0. A runner has one claim in flight at a
   * time; on PostgreSQL, two runners on the same queues, each with half the slots and half the prefetch, overlap
   * their round trips (about 1.3× the jobs per second of one, docs/BENCHMARKS.md).
   */
  prefetch?: number;
}

/** {@link RunnerOptions} validated, with defaults applied and durations in milliseconds. */
export interface RunnerSettings {
  /** null: every queue. */
  queues: string[] | null;
  /** null: every executor class. */
  classes: string[] | null;
  concurrency: number;
  prefetch: number;
  leaseMs: number;
  pollMs: number;
  idlePollMaxMs: number;
  jobTimeoutMs: number | null;
  backoff: { baseMs: number; capMs: number };
}

/**
 * Validates runner options and applies the defaults. `allQueues` (used by `runUntilIdle` and `workJob`) claims
 * from every queue whatever `queues` says.
 * @throws ValidationError naming the option.
 */
export function resolveRunnerSettings(options: RunnerOptions, scope: { allQueues?: boolean } = {}): RunnerSettings {
  const queues = options.queues ?? [...RUNNER_DEFAULTS.queues];
  if (!Array.isArray(queues) || queues.length === 0 || queues.some((q) => typeof q !== "string" || q === "")) {
    throw new ValidationError(`flywheel: runner queues must be a non-empty list of queue names, got ${JSON.stringify(options.queues)}`, "queues");
  }
  const timeout = options.jobTimeout;
  return {
    queues: scope.allQueues ? null : queues,
    classes: options.anyClass ? null : [...new Set([options.executorClass ?? "", ""])],
    concurrency: count(options.concurrency, RUNNER_DEFAULTS.concurrency, 1, "concurrency"),
    prefetch: count(options.prefetch, RUNNER_DEFAULTS.prefetch, 0, "prefetch"),
    leaseMs: positive(options.lease, RUNNER_DEFAULTS.leaseMs, "lease"),
    pollMs: positive(options.pollInterval, RUNNER_DEFAULTS.pollIntervalMs, "pollInterval"),
    idlePollMaxMs: Math.max(
      positive(options.idlePollMax, RUNNER_DEFAULTS.idlePollMaxMs, "idlePollMax"),
      positive(options.pollInterval, RUNNER_DEFAULTS.pollIntervalMs, "pollInterval"),
    ),
    jobTimeoutMs: timeout === null ? null : positive(timeout, RUNNER_DEFAULTS.jobTimeoutMs, "jobTimeout"),
    backoff: {
      baseMs: positive(options.backoff?.base, BACKOFF_DEFAULTS.baseMs, "backoff.base"),
      capMs: positive(options.backoff?.cap, BACKOFF_DEFAULTS.capMs, "backoff.cap"),
    },
  };
}

function count(value: number | undefined, fallback: number, min: number, key: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) throw new ValidationError(`flywheel: runner ${key} must be a whole number ≥ ${min}, got ${value}`, key);
  return value;
}

function positive(value: Duration | undefined, fallback: number, key: string): number {
  if (value === undefined) return fallback;
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (error) {
    throw new ValidationError(`flywheel: runner ${key}: ${(error as Error).message.replace(/^flywheel: /, "")}`, key);
  }
  if (ms <= 0) throw new ValidationError(`flywheel: runner ${key} must be longer than 0, got ${JSON.stringify(value)}`, key);
  return ms;
}
