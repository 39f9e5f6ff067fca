import type { Clock } from "../core/clock.ts";
import type { Driver, JobInsertRow } from "../driver/types.ts";
import { formatDuration, parseDuration, type Duration } from "../core/duration.ts";
import type { Logger } from "../core/logger.ts";
import { RetryLadder, sleep } from "../core/retry-ladder.ts";
import { crashedItem, type RetryDelay } from "../jobs/attempt.ts";
import { planFires, type ScheduleSpec } from "../periodic/schedule.ts";
import type { InsertOptions, PeriodicRecord, QueueHealth, WorkerDefinition } from "../core/types.ts";

/**
 * Scheduler settings. `{}` means: tick every 1 s, sweep every 30 s in batches of 1,000, no retention,
 * no health heartbeat.
 */
export interface SchedulerOptions {
  tickInterval?: Duration;
  sweepInterval?: Duration;
  sweepBatch?: number;
  /** Hard-delete terminal jobs (and their runs) finalized longer ago than this. Off when unset. */
  retention?: Duration | null;
  /** Log a one-line queue health sample this often. Off when unset. */
  healthSampleInterval?: Duration | null;
}

/** Scheduler defaults, in one place. */
export const SCHEDULER_DEFAULTS = { tickMs: 1_000, sweepMs: 30_000, sweepBatch: 1_000, retentionBatch: 1_000 } as const;

/** What the scheduler needs from the client. */
export interface SchedulerCore {
  driver: Driver;
  clock: Clock;
  logger: Logger;
  buildRow(kind: string | WorkerDefinition<any, any>, args: unknown, options: InsertOptions, now: Date): JobInsertRow;
  queueHealth(): Promise<QueueHealth>;
  /** The retry backoff a swept job waits, as for any failed attempt. */
  retryDelay: RetryDelay;
  wake(): void;
}

/** The schedule of a stored periodic. */
export function specOf(p: Pick<PeriodicRecord, "cron" | "timezone" | "intervalSeconds">): ScheduleSpec {
  return p.cron !== null ? { cron: p.cron, timezone: p.timezone } : { intervalSeconds: p.intervalSeconds! };
}

/** Fires due periodics, sweeps expired leases, applies retention and samples health. */
export class Scheduler {
  readonly #core: SchedulerCore;
  readonly #tickMs: number;
  readonly #sweepMs: number;
  readonly #sweepBatch: number;
  readonly #retentionMs: number | null;
  readonly #healthMs: number | null;

  constructor(core: SchedulerCore, options: SchedulerOptions = {}) {
    this.#core = core;
    this.#tickMs = options.tickInterval !== undefined ? parseDuration(options.tickInterval) : SCHEDULER_DEFAULTS.tickMs;
    this.#sweepMs = options.sweepInterval !== undefined ? parseDuration(options.sweepInterval) : SCHEDULER_DEFAULTS.sweepMs;
    this.#sweepBatch = options.sweepBatch ?? SCHEDULER_DEFAULTS.sweepBatch;
    this.#retentionMs = options.retention == null ? null : parseDuration(options.retention);
    this.#healthMs = options.healthSampleInterval == null ? null : parseDuration(options.healthSampleInterval);
  }

  /** Fires every due periodic once; returns how many jobs it enqueued. Safe to run from several nodes at once. */
  async tick(): Promise<number> {
    const { driver, clock, logger } = this.#core;
    const now = clock.now();
    let enqueued = 0;
    for (const periodic of await driver.periodicListDue({ now, limit: 500 })) {
      // "none" keeps a fire only if it fell due within the last tick; one extra second absorbs a late tick.
      const plan = planFires({
        spec: specOf(periodic),
        nextRunAt: periodic.nextRunAt,
        now,
        catchUp: periodic.catchUp,
        backfill: periodic.backfill,
        tickMs: this.#tickMs + 1_000,
      });
      let jobs: JobInsertRow[];
      try {
        jobs = plan.fires.map((fire) => this.#fireRow(periodic, fire, now));
      } catch (error) {
        logger.error("flywheel: periodic cannot build its job; deactivate or fix it", { slug: periodic.slug, error: (error as Error).message });
        continue;
      }
      const { fired, inserted } = await driver.periodicFire({
        id: periodic.id,
        expectedNextRunAt: periodic.nextRunAt,
        nextRunAt: plan.nextRunAt,
        jobs,
        skipped: plan.skipped,
        skipReason: plan.skipped > 0 ? `catch_up=${periodic.catchUp}` : null,
        now,
      });
      if (!fired) continue;
      const count = inserted.filter((o) => o.inserted).length;
      const overlapped = inserted.filter((o) => !o.inserted && o.key === "unique_active_key").length;
      enqueued += count;
      if (plan.skipped > 0) logger.warn("flywheel: periodic fires skipped by catch-up policy", { slug: periodic.slug, skipped: plan.skipped, catch_up: periodic.catchUp });
      if (overlapped > 0) logger.warn("flywheel: periodic fire skipped: previous run still active", { slug: periodic.slug, skipped: overlapped });
    }
    if (enqueued > 0) this.#core.wake();
    return enqueued;
  }

  #fireRow(periodic: PeriodicRecord, fire: Date, now: Date): JobInsertRow {
    const unix = Math.floor(fire.getTime() / 1000);
    const row = this.#core.buildRow(
      periodic.kind,
      periodic.args,
      {
        queue: periodic.queue,
        priority: periodic.priority ?? undefined,
        maxAttempts: periodic.maxAttempts ?? undefined,
        timeout: periodic.timeoutMs ?? undefined,
        uniqueKey: `periodic:${periodic.slug}@${unix}`,
        uniqueActiveKey: periodic.overlap === "skip" ? `periodic:${periodic.slug}` : undefined,
      },
      now,
    );
    row.scheduledAt = fire.getTime() < now.getTime() ? fire : now;
    row.metadata = { ...row.metadata, periodic: periodic.slug, fire_at: fire.toISOString() };
    return row;
  }

  /** Reclaims expired leases until none is left; returns how many jobs it reclaimed. */
  async sweep(): Promise<number> {
    const { driver, clock } = this.#core;
    let total = 0;
    for (;;) {
      const now = clock.now();
      const expired = await driver.leaseListExpired({ now, limit: this.#sweepBatch });
      if (expired.length === 0) break;
      const outcomes = await driver.jobFinalize({ items: expired.map((lease) => crashedItem(lease, now, this.#core.retryDelay)), now });
      const reclaimed = outcomes.filter((o) => o.applied).length;
      total += reclaimed;
      // A full batch may hide more; one that reclaimed nothing (all renewed meanwhile) must not spin.
      if (expired.length < this.#sweepBatch || reclaimed === 0) break;
    }
    if (total > 0) {
      this.#core.logger.warn("jobs: reclaimed expired leases", { jobs: total });
      this.#core.wake();
    }
    return total;
  }

  /** Deletes terminal jobs older than the retention, in bounded batches; returns how many. */
  async prune(retentionMs = this.#retentionMs): Promise<number> {
    if (retentionMs === null) return 0;
    const before = new Date(this.#core.clock.now().getTime() - retentionMs);
    let total = 0;
    for (;;) {
      const n = await this.#core.driver.jobDeleteFinished({ before, limit: SCHEDULER_DEFAULTS.retentionBatch });
      total += n;
      if (n < SCHEDULER_DEFAULTS.retentionBatch) break;
    }
    if (total > 0) this.#core.logger.info("flywheel: retention deleted finished jobs", { jobs: total, older_than: formatDuration(retentionMs) });
    return total;
  }

  /** Runs the scheduler's loops until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const loops = [this.#every(signal, this.#tickMs, "flywheel: periodic tick failed", () => this.tick())];
    loops.push(this.#every(signal, this.#sweepMs, "jobs: sweep failed", () => this.sweep()));
    if (this.#retentionMs !== null) {
      const cadence = Math.min(Math.max(this.#retentionMs / 10, 60_000), 3_600_000);
      loops.push(this.#every(signal, cadence, "flywheel: retention failed", () => this.prune()));
    }
    if (this.#healthMs !== null) {
      loops.push(this.#every(signal, this.#healthMs, "flywheel: health sample failed", () => this.#sampleHealth()));
    }
    await Promise.all(loops);
  }

  async #sampleHealth(): Promise<void> {
    const h = await this.#core.queueHealth();
    this.#core.logger.info("flywheel: queue health", {
      ready: h.ready,
      inflight: h.inflight,
      scheduled_ahead: h.scheduledAhead,
      lag_seconds: h.oldestReadyAgeSeconds,
      discarded: h.counts.discarded,
    });
  }

  async #every(signal: AbortSignal, intervalMs: number, message: string, fn: () => Promise<unknown>): Promise<void> {
    const ladder = new RetryLadder(this.#core.logger, message);
    while (!signal.aborted) {
      try {
        await fn();
        ladder.succeeded();
        await sleep(intervalMs, signal);
      } catch (error) {
        await ladder.failed(error, signal);
      }
    }
  }
}
