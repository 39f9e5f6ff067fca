import { BACKOFF_DEFAULTS, MAINTENANCE_DEFAULTS } from "../core/defaults.ts";
import { parseDuration, type Duration } from "../core/duration.ts";
import { FlywheelError, ValidationError } from "../core/errors.ts";
import { RetryLadder, sleep } from "../core/retry-ladder.ts";
import { RetryPolicy } from "../jobs/retry-policy.ts";
import type { RuntimeContext } from "../runtime/context.ts";
import { logQueueHealth } from "./health.ts";
import { sweepExpiredLeases } from "./lease-sweeper.ts";
import { firePeriodics } from "./periodic-enqueuer.ts";
import { deleteFinishedJobs } from "./retention.ts";

/**
 * Maintenance settings (the node's `scheduler:` part). `{}` means ({@link MAINTENANCE_DEFAULTS}): fire due
 * periodics every 1 s, sweep expired leases every 30 s in batches of 1,000 with the default retry backoff, no
 * retention, no health heartbeat.
 */
export interface SchedulerOptions {
  tickInterval?: Duration;
  sweepInterval?: Duration;
  sweepBatch?: number;
  /** The backoff a swept job waits before its next attempt (as for a failed attempt). */
  backoff?: { base?: Duration; cap?: Duration };
  /** Hard-delete terminal jobs (and their runs) finalized longer ago than this. Off when unset. */
  retention?: Duration | null;
  /** Log a one-line queue health sample this often. Off when unset. */
  healthSampleInterval?: Duration | null;
}

/**
 * A node's maintenance: the periodic enqueuer, the lease sweeper, retention and the health heartbeat, each on
 * its own cadence. Several nodes may run it at once: every part is safe to run concurrently.
 */
export class Scheduler {
  readonly #ctx: RuntimeContext;
  readonly #tickMs: number;
  readonly #sweepMs: number;
  readonly #sweepBatch: number;
  readonly #retry: RetryPolicy;
  readonly #retentionMs: number | null;
  readonly #healthMs: number | null;

  /** @throws ValidationError for options it cannot use. */
  constructor(ctx: RuntimeContext, options: SchedulerOptions = {}) {
    this.#ctx = ctx;
    this.#tickMs = ms(options.tickInterval, MAINTENANCE_DEFAULTS.tickMs, "tickInterval");
    this.#sweepMs = ms(options.sweepInterval, MAINTENANCE_DEFAULTS.sweepMs, "sweepInterval");
    this.#sweepBatch = options.sweepBatch ?? MAINTENANCE_DEFAULTS.sweepBatch;
    if (!Number.isSafeInteger(this.#sweepBatch) || this.#sweepBatch < 1) {
      throw new ValidationError(`flywheel: scheduler sweepBatch must be a whole number ≥ 1, got ${options.sweepBatch}`, "sweepBatch");
    }
    const backoff = {
      baseMs: ms(options.backoff?.base, BACKOFF_DEFAULTS.baseMs, "backoff.base"),
      capMs: ms(options.backoff?.cap, BACKOFF_DEFAULTS.capMs, "backoff.cap"),
    };
    this.#retry = new RetryPolicy(backoff, ctx.logger);
    this.#retentionMs = options.retention == null ? null : ms(options.retention, 0, "retention");
    this.#healthMs = options.healthSampleInterval == null ? null : ms(options.healthSampleInterval, 0, "healthSampleInterval");
  }

  /** Fires every due periodic once; returns how many jobs it enqueued. */
  tick(): Promise<number> {
    return firePeriodics(this.#ctx, this.#tickMs);
  }

  /** Reclaims expired leases until none is left; returns how many jobs it reclaimed. */
  sweep(): Promise<number> {
    return sweepExpiredLeases(this.#ctx, this.#retry, this.#sweepBatch);
  }

  /**
   * Waits for the next tick: until the earliest active periodic's next fire (at most a minute, so clock changes and
   * missed wake-ups heal), or sooner when a wake-up says periodics may have changed (an upsert here, another
   * process's commit) — then at most once per tick interval, so a burst of inserts cannot turn into a burst of
   * ticks. An idle daemon with one daily schedule wakes about once a minute instead of every second.
   */
  async #untilNextFire(signal: AbortSignal): Promise<void> {
    const lastTick = Date.now();
    for (;;) {
      const next = await this.#ctx.driver.periodicNextRunAt({});
      const now = this.#ctx.clock.now().getTime();
      // A due periodic that did not fire (it failed, and keeps its place) is tried again a tick later, not at once.
      if (next !== null && next.getTime() <= now) return sleep(this.#tickMs, signal);
      const wait = next === null ? MAINTENANCE_DEFAULTS.idleTickMaxMs : next.getTime() - now;
      if (!(await wakeOrTimeout(this.#ctx, wait, signal)) || signal.aborted) return;
      await sleep(Math.max(0, lastTick + this.#tickMs - Date.now()), signal);
    }
  }

  /** Applies retention once; returns how many jobs it deleted (0 when retention is off). */
  prune(): Promise<number> {
    return this.#retentionMs === null ? Promise.resolve(0) : deleteFinishedJobs(this.#ctx, this.#retentionMs);
  }

  /** Runs every part on its cadence until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const loops = [every(this.#ctx, signal, this.#tickMs, "flywheel: periodic tick failed", () => this.tick(), (s) => this.#untilNextFire(s))];
    loops.push(every(this.#ctx, signal, this.#sweepMs, "jobs: sweep failed", () => this.sweep()));
    if (this.#retentionMs !== null) {
      const cadence = Math.min(Math.max(this.#retentionMs / 10, 60_000), 3_600_000);
      loops.push(every(this.#ctx, signal, cadence, "flywheel: retention failed", () => this.prune()));
    }
    if (this.#healthMs !== null) {
      loops.push(every(this.#ctx, signal, this.#healthMs, "flywheel: health sample failed", () => logQueueHealth(this.#ctx)));
    }
    await Promise.all(loops);
  }
}

/**
 * Runs `fn` every `intervalMs` (or, with `pause`, whenever `pause` resolves) until `signal` aborts; failures back off
 * on a ladder instead of ending the loop.
 */
async function every(
  ctx: RuntimeContext,
  signal: AbortSignal,
  intervalMs: number,
  message: string,
  fn: () => Promise<unknown>,
  pause: (signal: AbortSignal) => Promise<void> = (s) => sleep(intervalMs, s),
): Promise<void> {
  const ladder = new RetryLadder(ctx.logger, message);
  while (!signal.aborted) {
    try {
      await fn();
      ladder.succeeded();
      await pause(signal);
    } catch (error) {
      // A damaged database does not heal by waiting: stop, and let the node report it.
      if (error instanceof FlywheelError && error.code === "corrupt") throw error;
      await ladder.failed(error, signal);
    }
  }
}

/**
 * Resolves true on a wake-up, false once `ms` of clock time pass (so a test clock's `advance` ends the wait), at most
 * a real minute later either way, or at once when `signal` aborts.
 */
async function wakeOrTimeout(ctx: RuntimeContext, ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  let woken = false;
  const stop = new AbortController();
  const off = ctx.wake.subscribe(() => {
    woken = true;
    stop.abort();
  });
  const cancelTimer = ctx.clock.setTimer(ms, () => stop.abort());
  const onAbort = () => stop.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    await sleep(MAINTENANCE_DEFAULTS.idleTickMaxMs, stop.signal);
  } finally {
    off();
    cancelTimer();
    signal.removeEventListener("abort", onAbort);
  }
  return woken;
}

function ms(value: Duration | undefined, fallback: number, key: string): number {
  if (value === undefined) return fallback;
  try {
    const n = parseDuration(value);
    if (n > 0) return n;
  } catch {
    // Reported below with the option's name.
  }
  throw new ValidationError(`flywheel: scheduler ${key} must be a duration longer than 0, got ${JSON.stringify(value)}`, key);
}
