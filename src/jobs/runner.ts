import { isDataRefusal } from "../core/errors.ts";
import { runAttempt, type AttemptContext } from "./attempt.ts";
import type { Clock } from "../core/clock.ts";
import type { ClaimParams, ClaimedJob, Driver, FinalizeItem, FinalizeOutcome } from "../driver/types.ts";
import { parseDuration, type Duration } from "../core/duration.ts";
import type { Finalizer } from "./finalizer.ts";
import { newId } from "../core/id.ts";
import type { Logger } from "../core/logger.ts";
import type { JobRef, Observer } from "../observe/observer.ts";
import { RetryLadder, sleep } from "../core/retry-ladder.ts";

/**
 * One runner's settings. `{}` means: queue `default`, 10 concurrent jobs, executor class `""` (plus unclassed
 * jobs), 30 s lease renewed every 10 s, 250 ms idle poll, backoff 1 s … 1 min, 30 min default job timeout.
 */
export interface RunnerOptions {
  queues?: string[];
  concurrency?: number;
  /** This runner serves jobs of this class and unclassed (`""`) jobs. */
  executorClass?: string;
  /** Serve every executor class. */
  anyClass?: boolean;
  lease?: Duration;
  pollInterval?: Duration;
  backoff?: { base?: Duration; cap?: Duration };
  /** Timeout for jobs whose kind and row set none; `null` for none. */
  jobTimeout?: Duration | null;
  /**
   * Opt-in: claim up to this many jobs beyond the free slots and keep them in memory until a slot frees, so
   * claims come in larger batches (the buffer is refilled once it has run down to half). Buffered jobs hold
   * leases (renewed like running ones) and their run stub's `started_at` is the claim time; on shutdown the
   * unstarted ones are released with their attempt refunded. Default 0.
   */
  prefetch?: number;
}

/** Longest wait, with a prefetch buffer, for outcomes hoping to ride with the next claim. */
const OUTBOX_WINDOW_MS = 10;

/** Runner defaults, in one place. */
export const RUNNER_DEFAULTS = {
  queues: ["default"],
  concurrency: 10,
  leaseMs: 30_000,
  pollIntervalMs: 250,
  jobTimeoutMs: 30 * 60_000,
} as const;

/** What a runner needs from the client that owns it. */
export interface RunnerCore {
  driver: Driver;
  clock: Clock;
  logger: Logger;
  observer: Required<Observer>;
  finalizer: Finalizer;
  executorId: string;
  attemptContext(options: { backoff: { baseMs?: number; capMs?: number }; defaultTimeoutMs: number | null }): AttemptContext;
  /** Subscribes to "new work may exist" signals (in-process inserts and the driver's cross-process wake-ups). */
  onWake(listener: () => void): () => void;
  /** Registers an in-flight attempt so `cancelJob` can abort it. */
  track(jobId: string, controller: AbortController): () => void;
}

interface InFlight {
  job: ClaimedJob;
  controller: AbortController;
  untrack: () => void;
}

/** A finished attempt's outcome on its way to the database, and the worker-side promise waiting for it. */
interface Settling {
  item: FinalizeItem;
  resolve(outcome: FinalizeOutcome): void;
  reject(error: unknown): void;
}

function refOf(job: ClaimedJob): JobRef {
  return { id: job.id, kind: job.kind, queue: job.queue, attempt: job.attempt, runId: job.runId };
}

/** How a runner stops: on abort (drain), or as soon as no job is due (`untilIdle`). */
export interface RunMode {
  untilIdle?: boolean;
  /** Longest wait for in-flight attempts after abort before their signals are aborted. */
  drainTimeoutMs?: number;
  /** Claim only these job ids. */
  ids?: string[];
}

/**
 * Claims jobs into free slots, runs them, renews their leases and hands outcomes to the finalizer.
 * Database errors back off (doubling to 30 s, one log line per rung); they never end the loop.
 */
export class Runner {
  readonly #core: RunnerCore;
  readonly #queues: string[] | null;
  readonly #classes: string[] | null;
  readonly #concurrency: number;
  readonly #leaseMs: number;
  readonly #pollMs: number;
  readonly #context: AttemptContext;
  /** Every lease this runner holds: attempts running and attempts whose outcome is being committed. */
  readonly #inflight = new Map<string, InFlight>();
  /** Attempts whose worker is still running: the slots in use. */
  #running = 0;
  readonly #prefetch: number;
  /** Claimed jobs waiting for a slot (prefetch only). */
  #buffer: ClaimedJob[] = [];
  readonly #ladder: RetryLadder;
  /** Outcomes waiting to ride with the next claim, which commits them in the same transaction. */
  #outbox: Settling[] = [];
  /** True while the loop claims; outside it outcomes go straight to the finalizer. */
  #claiming = false;
  #flushTimer: ReturnType<typeof setTimeout> | null = null;
  #kicked = false;
  #wake: (() => void) | null = null;
  #worked = 0;

  constructor(core: RunnerCore, options: RunnerOptions = {}, scope: { allQueues?: boolean } = {}) {
    this.#core = core;
    this.#queues = scope.allQueues ? null : (options.queues ?? [...RUNNER_DEFAULTS.queues]);
    this.#classes = options.anyClass ? null : [...new Set([options.executorClass ?? "", ""])];
    this.#concurrency = Math.max(1, options.concurrency ?? RUNNER_DEFAULTS.concurrency);
    this.#prefetch = Math.max(0, Math.floor(options.prefetch ?? 0));
    this.#leaseMs = options.lease !== undefined ? parseDuration(options.lease) : RUNNER_DEFAULTS.leaseMs;
    this.#pollMs = options.pollInterval !== undefined ? parseDuration(options.pollInterval) : RUNNER_DEFAULTS.pollIntervalMs;
    const timeout = options.jobTimeout === undefined ? RUNNER_DEFAULTS.jobTimeoutMs : options.jobTimeout === null ? null : parseDuration(options.jobTimeout);
    this.#context = core.attemptContext({
      backoff: {
        baseMs: options.backoff?.base !== undefined ? parseDuration(options.backoff.base) : undefined,
        capMs: options.backoff?.cap !== undefined ? parseDuration(options.backoff.cap) : undefined,
      },
      defaultTimeoutMs: timeout,
    });
    this.#ladder = new RetryLadder(core.logger, "jobs: claim failed");
  }

  /** Attempts currently held by this runner. */
  get inflight(): number {
    return this.#inflight.size;
  }

  /**
   * Runs until `signal` aborts (then drains) or, with `untilIdle`, until nothing is due and nothing runs.
   * Resolves with the number of attempts it finished.
   */
  async run(signal: AbortSignal, mode: RunMode = {}): Promise<number> {
    const unsubscribe = this.#core.onWake(() => this.#kick());
    const stopRenewal = this.#startRenewal();
    const onAbort = () => this.#kick();
    signal.addEventListener("abort", onAbort);
    this.#claiming = true;
    try {
      while (!signal.aborted) {
        // A slot frees when its worker returns; its outcome rides with the claim that refills it. Held leases
        // (running, buffered, committing through the finalizer) stay bounded at twice the concurrency.
        const free = Math.min(
          this.#concurrency - this.#running + this.#prefetch - this.#buffer.length,
          2 * this.#concurrency + this.#prefetch - (this.#inflight.size - this.#outbox.length),
        );
        let claimed = 0;
        // With a prefetch buffer, refill it in large batches: claim once it has run down to half.
        const refill = this.#buffer.length <= this.#prefetch / 2;
        if (free > 0 && refill) {
          const outbox = this.#outbox.splice(0);
          try {
            claimed = await this.#claim(free, mode.ids, outbox);
            this.#ladder.succeeded();
          } catch (error) {
            // The outcomes went to the finalizer, which retries them or records what the database refuses; a
            // refusal is about them, not the claim, so the claim goes again at once.
            if (outbox.length > 0 && isDataRefusal(error)) continue;
            // Outcomes of jobs that finish during the backoff go straight to the finalizer instead of waiting it out.
            this.#claiming = false;
            this.#flushOutbox();
            try {
              await this.#ladder.failed(error, signal);
            } finally {
              this.#claiming = true;
            }
            continue;
          }
        } else if (this.#prefetch > 0 && this.#outbox.length < this.#prefetch / 2) {
          this.#flushSoon();
        } else {
          this.#flushOutbox();
        }
        if (mode.untilIdle && claimed === 0 && this.#inflight.size === 0) break;
        // Full, or working through what it has: a finishing job kicks. Idle: a wake-up or the poll does.
        const idle = claimed < free;
        await this.#waitForKick(signal, idle && !mode.untilIdle ? this.#pollMs : null);
      }
      this.#claiming = false;
      this.#flushOutbox();
      this.#releaseBuffered();
      await this.#drain(mode.drainTimeoutMs ?? 30_000);
    } finally {
      this.#claiming = false;
      this.#flushOutbox();
      signal.removeEventListener("abort", onAbort);
      stopRenewal();
      unsubscribe();
    }
    return this.#worked;
  }

  /** Claims up to `limit` jobs, committing the outcomes in `outbox` in the same transaction. */
  async #claim(limit: number, ids: string[] | undefined, outbox: Settling[]): Promise<number> {
    const now = this.#core.clock.now();
    const claim: ClaimParams = {
      queues: this.#queues,
      executorClasses: this.#classes,
      limit,
      now,
      leasedUntil: new Date(now.getTime() + this.#leaseMs),
      leaseToken: newId(),
      executorId: this.#core.executorId,
      ids,
    };
    let jobs: ClaimedJob[];
    if (outbox.length === 0) {
      jobs = await this.#core.driver.jobClaim(claim);
    } else {
      let result: { outcomes: FinalizeOutcome[]; jobs: ClaimedJob[] };
      try {
        result = await this.#core.driver.jobFinalizeAndClaim({ items: outbox.map((s) => s.item), claim });
      } catch (error) {
        this.#toFinalizer(outbox);
        throw error;
      }
      outbox.forEach((s, i) => s.resolve(result.outcomes[i]!));
      jobs = result.jobs;
    }
    for (const job of jobs) {
      const controller = new AbortController();
      this.#inflight.set(job.id, { job, controller, untrack: this.#core.track(job.id, controller) });
      this.#core.observer.onClaim({ job: refOf(job), executorId: this.#core.executorId });
      this.#buffer.push(job);
    }
    this.#fillSlots();
    return jobs.length;
  }

  #fillSlots(): void {
    while (this.#running < this.#concurrency && this.#buffer.length > 0) this.#start(this.#buffer.shift()!);
  }

  #start(job: ClaimedJob): void {
    const { controller, untrack } = this.#inflight.get(job.id)!;
    const ref = refOf(job);
    const { observer, logger } = this.#core;
    this.#running++;
    runAttempt(this.#context, job, controller)
      .then(async (result) => {
        this.#running--;
        this.#fillSlots();
        this.#kick();
        const persisted = await this.#settle(result.item);
        this.#worked++;
        observer.onFinish({
          job: ref,
          outcome: persisted.outcome,
          errorClass: result.errorClass,
          errorMessage: result.item.run.errorMessage,
          durationMs: result.item.run.durationMs,
        });
        if (persisted.applied && result.retryDelayMs !== null) {
          observer.onRetry({ job: ref, nextAttempt: job.attempt + 1, delayMs: result.retryDelayMs });
        }
      })
      .catch((error) => logger.error("jobs: attempt bookkeeping failed", { job_id: job.id, error: (error as Error).message }))
      .finally(() => {
        untrack();
        this.#inflight.delete(job.id);
        this.#kick();
      });
  }

  /** Commits an outcome: with the next claim while the loop claims, else through the finalizer. */
  #settle(item: FinalizeItem): Promise<FinalizeOutcome> {
    if (!this.#claiming) return this.#core.finalizer.submit(item);
    return new Promise((resolve, reject) => this.#outbox.push({ item, resolve, reject }));
  }

  /** Hands the outcomes waiting for a claim that is not coming to the finalizer. */
  #flushOutbox(): void {
    this.#toFinalizer(this.#outbox.splice(0));
  }

  /**
   * With a prefetch buffer the next claim may be far off, so outcomes wait for it at most a short window (wall
   * time: it bounds a write delay, not job logic) and then commit together through the finalizer.
   */
  #flushSoon(): void {
    if (this.#flushTimer !== null) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = null;
      this.#flushOutbox();
    }, OUTBOX_WINDOW_MS);
  }

  #toFinalizer(settling: Settling[]): void {
    for (const s of settling) this.#core.finalizer.submit(s.item).then(s.resolve, s.reject);
  }

  /**
   * Shutdown stops claiming, so prefetched jobs that never started go back to the queue now instead of waiting
   * out their lease: rescheduled for now with the attempt refunded, the run recorded as a snooze.
   */
  #releaseBuffered(): void {
    const unstarted = this.#buffer.splice(0);
    if (unstarted.length === 0) return;
    const now = this.#core.clock.now();
    for (const job of unstarted) {
      const held = this.#inflight.get(job.id)!;
      void this.#core.finalizer
        .submit({
          jobId: job.id,
          runId: job.runId,
          leaseToken: job.leaseToken!,
          run: { outcome: "snooze", errorClass: null, errorMessage: "jobs: released unstarted at shutdown", output: undefined, finishedAt: now, durationMs: 0, costMicros: null },
          job: { state: "available", scheduledAt: now, maxAttemptsDelta: 1 },
          followUps: [],
        })
        .catch((error) => this.#core.logger.error("jobs: releasing a prefetched job failed", { job_id: job.id, error: (error as Error).message }))
        .finally(() => {
          held.untrack();
          this.#inflight.delete(job.id);
          this.#kick();
        });
    }
  }

  /** Renews every held lease in one statement each lease/3 of clock time; aborts attempts whose lease is gone. */
  #startRenewal(): () => void {
    let cancel = () => {};
    let stopped = false;
    let chain = Promise.resolve();
    const schedule = () => {
      cancel = this.#core.clock.setTimer(Math.max(1, Math.floor(this.#leaseMs / 3)), () => {
        // Reschedule first: a clock jump spanning several periods must renew at each of them. Renewals run one
        // after another so a slow one never lands after (and undoes) a later one.
        if (!stopped) schedule();
        const now = this.#core.clock.now();
        chain = chain.then(() => this.#renew(now));
      });
    };
    schedule();
    return () => {
      stopped = true;
      cancel();
    };
  }

  async #renew(now: Date): Promise<void> {
    const held = [...this.#inflight.values()];
    if (held.length === 0) return;
    try {
      const renewed = await this.#core.driver.leaseRenew({
        leases: held.map((h) => ({ jobId: h.job.id, leaseToken: h.job.leaseToken! })),
        leasedUntil: new Date(now.getTime() + this.#leaseMs),
        now,
      });
      for (const h of held) {
        if (!renewed.has(h.job.id) && this.#inflight.has(h.job.id)) {
          h.controller.abort(new Error("jobs: lease lost (the job was cancelled or reclaimed by the sweep)"));
        }
      }
    } catch (error) {
      this.#core.logger.error("jobs: lease renewal failed", { error: (error as Error).message, held: held.length });
    }
  }

  async #drain(timeoutMs: number): Promise<void> {
    if (this.#inflight.size === 0) return;
    const deadline = Date.now() + timeoutMs;
    while (this.#inflight.size > 0 && Date.now() < deadline) await this.#waitForKick(undefined, deadline - Date.now());
    if (this.#inflight.size === 0) return;
    this.#core.logger.warn("jobs: drain timeout passed; aborting in-flight attempts", { inflight: this.#inflight.size });
    for (const h of this.#inflight.values()) h.controller.abort(new Error("jobs: node shutting down"));
    // Workers that honour their signal return promptly; give their outcomes a moment to persist.
    const grace = Date.now() + Math.min(5_000, Math.max(timeoutMs, 100));
    while (this.#inflight.size > 0 && Date.now() < grace) await this.#waitForKick(undefined, grace - Date.now());
  }

  #kick(): void {
    this.#kicked = true;
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  async #waitForKick(signal: AbortSignal | undefined, timeoutMs: number | null): Promise<void> {
    if (this.#kicked || signal?.aborted) {
      this.#kicked = false;
      return;
    }
    const controller = new AbortController();
    const woken = new Promise<void>((resolve) => (this.#wake = resolve));
    const waits: Promise<void>[] = [woken];
    if (timeoutMs !== null) waits.push(sleep(timeoutMs, controller.signal));
    await Promise.race(waits);
    controller.abort();
    this.#wake = null;
    // Let every completion of this turn land first, so the next claim fills all the slots they freed at once.
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#kicked = false;
  }
}
