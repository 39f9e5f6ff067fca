import { NODE_DEFAULTS, RUNNER_DEFAULTS } from "../core/defaults.ts";
import { FlywheelError, isDataRefusal } from "../core/errors.ts";
import { newId } from "../core/id.ts";
import { RetryLadder } from "../core/retry-ladder.ts";
import { FAR_FUTURE, type ClaimParams, type ClaimedJob, type FinalizeOutcome } from "../driver/types.ts";
import { reportBreaker, withBreaker } from "../messaging/breakers.ts";
import { jobLogFields } from "../observe/job-log.ts";
import type { RuntimeContext } from "../runtime/context.ts";
import { refOf, runAttempt, type AttemptSettings } from "./attempt.ts";
import { LeaseKeeper, type HeldLease } from "./lease-keeper.ts";
import { Outbox, type Settling } from "./outbox.ts";
import { releasedUnstarted, type AttemptResult } from "./outcome.ts";
import { RetryPolicy } from "./retry-policy.ts";
import { resolveRunnerSettings, type RunnerOptions, type RunnerSettings } from "./settings.ts";

/** How a runner stops: on abort (drain), or as soon as no job is due (`untilIdle`). */
export interface RunMode {
  untilIdle?: boolean;
  /** Longest wait for in-flight attempts after abort before their signals are aborted. */
  drainTimeoutMs?: number;
  /** Claim only these job ids. */
  ids?: string[];
}

interface Held extends HeldLease {
  untrack: () => void;
}

let runnerSeq = 0;

/**
 * Claims jobs into free slots, runs them, renews their leases and commits their outcomes (with the next claim,
 * or through the finalizer). Database errors back off (doubling to 30 s, one log line per rung); they never
 * end the loop.
 */
export class Runner {
  /** Names this runner in events. */
  readonly id = `runner-${++runnerSeq}`;
  readonly #ctx: RuntimeContext;
  readonly #settings: RunnerSettings;
  readonly #attempt: AttemptSettings;
  /** Every lease this runner holds: attempts running, buffered, and committing their outcome. */
  readonly #held = new Map<string, Held>();
  /** Attempts whose worker is still running: the slots in use. */
  #running = 0;
  /** Claimed jobs waiting for a slot (prefetch only). */
  #buffer: ClaimedJob[] = [];
  readonly #outbox: Outbox;
  readonly #ladder: RetryLadder;
  #kicked = false;
  #wake: (() => void) | null = null;
  /** Claims in a row that found nothing while nothing ran: the idle poll backs off with it. */
  #idleStreak = 0;
  /** Clock timers that kick the loop when work this runner scheduled (a retry, a snooze, a sleep) comes due. */
  readonly #wakeTimers = new Set<() => void>();
  #worked = 0;

  /** @throws ValidationError for options it cannot use. */
  constructor(ctx: RuntimeContext, options: RunnerOptions = {}, scope: { allQueues?: boolean } = {}) {
    this.#ctx = ctx;
    this.#settings = resolveRunnerSettings(options, scope);
    this.#attempt = { retry: new RetryPolicy(this.#settings.backoff, ctx.logger), defaultTimeoutMs: this.#settings.jobTimeoutMs };
    this.#outbox = new Outbox(ctx.finalizer, RUNNER_DEFAULTS.outboxWindowMs);
    this.#ladder = new RetryLadder(ctx.logger, "jobs: claim failed", (error, delayMs) =>
      ctx.events.emit("runner:backoff", { runner: this.id, error: (error as Error)?.message ?? String(error), delayMs }),
    );
  }

  /**
   * Runs until `signal` aborts (then drains) or, with `untilIdle`, until nothing is due and nothing runs.
   * Resolves with the number of attempts it finished.
   */
  async run(signal: AbortSignal, mode: RunMode = {}): Promise<number> {
    const { concurrency, prefetch } = this.#settings;
    const unsubscribe = this.#ctx.wake.subscribe(() => this.#kick());
    const stopRenewal = new LeaseKeeper(this.#ctx, this.#settings.leaseMs, () => this.#held.values(), (id) => this.#held.has(id)).start();
    const onAbort = () => this.#kick();
    signal.addEventListener("abort", onAbort);
    this.#outbox.claiming = true;
    let fatal: FlywheelError | null = null;
    try {
      while (!signal.aborted) {
        // A slot frees when its worker returns; its outcome rides with the claim that refills it. Held leases
        // (running, buffered, committing through the finalizer) stay bounded at twice the concurrency.
        const free = Math.min(
          concurrency - this.#running + prefetch - this.#buffer.length,
          2 * concurrency + prefetch - (this.#held.size - this.#outbox.length),
        );
        let claimed = 0;
        // With a prefetch buffer, refill it in large batches: claim once it has run down to half.
        const refill = this.#buffer.length <= prefetch / 2;
        if (free > 0 && refill) {
          const outbox = this.#outbox.take();
          try {
            claimed = await this.#claim(free, mode.ids, outbox);
            this.#ladder.succeeded();
          } catch (error) {
            // The outcomes went to the finalizer, which retries them or records what the database refuses; a
            // refusal is about them, not the claim, so the claim goes again at once.
            if (outbox.length > 0 && isDataRefusal(error)) continue;
            // A damaged database does not heal by waiting: drain, then report it to the node.
            if (error instanceof FlywheelError && error.code === "corrupt") {
              fatal = error;
              break;
            }
            // Outcomes of jobs that finish during the backoff go straight to the finalizer instead of waiting it out.
            this.#outbox.claiming = false;
            this.#outbox.flush();
            try {
              await this.#ladder.failed(error, signal);
            } finally {
              this.#outbox.claiming = true;
            }
            continue;
          }
        } else if (prefetch > 0 && this.#outbox.length < prefetch / 2) {
          this.#outbox.flushSoon();
        } else {
          this.#outbox.flush();
        }
        const idle = claimed < free;
        const empty = claimed === 0 && this.#held.size === 0;
        if (idle && this.#held.size === 0) this.#ctx.events.emit("runner:idle", { runner: this.id });
        if (mode.untilIdle && empty) break;
        this.#idleStreak = empty ? this.#idleStreak + 1 : 0;
        // Full, or working through what it has: a finishing job kicks. Idle: a wake-up or the poll does.
        await this.#waitForKick(signal, idle && !mode.untilIdle ? this.#idlePollMs() : null);
      }
      this.#outbox.claiming = false;
      this.#outbox.flush();
      this.#releaseBuffered();
      this.#ctx.events.emit("runner:draining", { runner: this.id, inflight: this.#running });
      await this.#drain(mode.drainTimeoutMs ?? NODE_DEFAULTS.drainTimeoutMs);
      if (fatal) throw fatal;
    } finally {
      this.#outbox.claiming = false;
      this.#outbox.flush();
      signal.removeEventListener("abort", onAbort);
      for (const cancel of this.#wakeTimers) cancel();
      this.#wakeTimers.clear();
      stopRenewal();
      unsubscribe();
    }
    return this.#worked;
  }

  /** Claims up to `limit` jobs, committing the outcomes in `outbox` in the same transaction. */
  async #claim(limit: number, ids: string[] | undefined, outbox: Settling[]): Promise<number> {
    const { driver, clock, executorId, events, inflight } = this.#ctx;
    const now = clock.now();
    const claim: ClaimParams = {
      queues: this.#settings.queues,
      executorClasses: this.#settings.classes,
      limit,
      now,
      leasedUntil: new Date(now.getTime() + this.#settings.leaseMs),
      leaseToken: newId(),
      executorId,
      ids,
    };
    let jobs: ClaimedJob[];
    if (outbox.length === 0) {
      jobs = await driver.jobClaim(claim);
    } else {
      let result: { outcomes: FinalizeOutcome[]; jobs: ClaimedJob[] };
      try {
        result = await driver.jobFinalizeAndClaim({ items: outbox.map((s) => s.item), claim });
      } catch (error) {
        this.#outbox.toFinalizer(outbox);
        throw error;
      }
      outbox.forEach((s, i) => s.resolve(result.outcomes[i]!));
      jobs = result.jobs;
    }
    const claimedListened = events.has("job:claimed");
    for (const job of jobs) {
      const controller = new AbortController();
      this.#held.set(job.id, { job, controller, untrack: inflight.track(job.id, controller) });
      if (claimedListened) events.emit("job:claimed", { job: refOf(job), executorId });
      this.#buffer.push(job);
    }
    this.#fillSlots();
    return jobs.length;
  }

  #fillSlots(): void {
    while (this.#running < this.#settings.concurrency && this.#buffer.length > 0) this.#start(this.#buffer.shift()!);
  }

  #start(job: ClaimedJob): void {
    this.#running++;
    void this.#work(job, this.#held.get(job.id)!);
  }

  /** One attempt from start to committed outcome. The slot frees when the worker returns, the lease once the outcome is committed. */
  async #work(job: ClaimedJob, held: Held): Promise<void> {
    let result: AttemptResult;
    try {
      result = await runAttempt(this.#ctx, this.#attempt, job, held.controller);
    } finally {
      this.#running--;
      this.#fillSlots();
      this.#kick();
    }
    try {
      const persisted = await this.#outbox.settle(withBreaker(this.#ctx, job.kind, result.item));
      reportBreaker(this.#ctx, persisted);
      this.#worked++;
      const ref = refOf(job);
      this.#ctx.events.emit("job:finished", {
        job: ref,
        outcome: persisted.outcome,
        applied: persisted.applied,
        state: persisted.applied ? result.item.job.state : null,
        errorClass: result.errorClass,
        errorMessage: result.item.run.errorMessage,
        durationMs: result.item.run.durationMs,
        output: result.item.run.output,
        retryDelayMs: persisted.applied ? result.retryDelayMs : null,
      });
      if (persisted.applied && result.retryDelayMs !== null) {
        this.#ctx.events.emit("job:retry", { job: ref, nextAttempt: job.attempt + 1, delayMs: result.retryDelayMs });
      }
      // A retry, a snooze or a sleep this runner scheduled: claim it at its time rather than at an idle poll.
      const due = persisted.applied ? result.item.job.scheduledAt : null;
      if (due && due < FAR_FUTURE) this.#kickAt(due);
    } catch (error) {
      this.#ctx.logger.error("jobs: committing an outcome failed", { ...jobLogFields(refOf(job)), error: (error as Error).message });
    } finally {
      held.untrack();
      this.#release(job.id, held);
      this.#kick();
    }
  }

  /**
   * Forgets a lease once its outcome is committed. The claim that carried that outcome may have claimed the same
   * job again (a retry or a wake-up due at once), so only this attempt's entry is removed, never its successor's.
   */
  #release(jobId: string, held: Held): void {
    if (this.#held.get(jobId) === held) this.#held.delete(jobId);
  }

  /**
   * Shutdown stops claiming, so prefetched jobs that never started go back to the queue now instead of waiting
   * out their lease: rescheduled for now with the attempt refunded, the run recorded as a snooze.
   */
  #releaseBuffered(): void {
    const unstarted = this.#buffer.splice(0);
    const now = this.#ctx.clock.now();
    for (const job of unstarted) {
      const held = this.#held.get(job.id)!;
      void this.#ctx.finalizer
        .submit(releasedUnstarted(job, now))
        .catch((error) => this.#ctx.logger.error("jobs: releasing a prefetched job failed", { ...jobLogFields(refOf(job)), error: (error as Error).message }))
        .finally(() => {
          held.untrack();
          this.#release(job.id, held);
          this.#kick();
        });
    }
  }

  async #drain(timeoutMs: number): Promise<void> {
    if (this.#held.size === 0) return;
    const deadline = Date.now() + timeoutMs;
    while (this.#held.size > 0 && Date.now() < deadline) await this.#waitForKick(undefined, deadline - Date.now());
    if (this.#held.size === 0) return;
    this.#ctx.logger.warn("jobs: drain timeout passed; aborting in-flight attempts", { inflight: this.#held.size });
    for (const h of this.#held.values()) h.controller.abort(new Error("jobs: node shutting down"));
    // Workers that honour their signal return promptly; give their outcomes a moment to persist.
    const grace = Date.now() + Math.min(5_000, Math.max(timeoutMs, 100));
    while (this.#held.size > 0 && Date.now() < grace) await this.#waitForKick(undefined, grace - Date.now());
  }

  /**
   * The idle poll: `pollInterval`, doubling with each empty claim in a row up to `idlePollMax`. Wake-ups claim at
   * once whatever the poll, so an idle node costs little; the poll only catches work nothing announced (a job
   * another process scheduled for later).
   */
  #idlePollMs(): number {
    const { pollMs, idlePollMaxMs } = this.#settings;
    return Math.min(idlePollMaxMs, pollMs * 2 ** Math.min(this.#idleStreak, 16));
  }

  /** Kicks the loop at `when` of clock time, so work this runner scheduled starts on time rather than at a poll. */
  #kickAt(when: Date): void {
    const cancel = this.#ctx.clock.setTimer(Math.max(0, when.getTime() - this.#ctx.clock.now().getTime()), () => {
      this.#wakeTimers.delete(cancel);
      this.#kick();
    });
    this.#wakeTimers.add(cancel);
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
    // The idle poll is a plain timer, cleared on a kick: an abortable sleep cost an AbortController and an abort()
    // (which builds an AbortError) on every turn of the loop.
    let poll: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      if (timeoutMs !== null) poll = setTimeout(resolve, timeoutMs);
    });
    clearTimeout(poll);
    this.#wake = null;
    // Let every completion of this turn land first, so the next claim fills all the slots they freed at once.
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#kicked = false;
  }
}
