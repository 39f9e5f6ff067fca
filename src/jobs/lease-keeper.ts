import type { ClaimedJob } from "../driver/types.ts";
import type { RuntimeContext } from "../runtime/context.ts";

/** A lease a runner holds: the claimed job and the controller that aborts its attempt. */
export interface HeldLease {
  job: ClaimedJob;
  controller: AbortController;
}

/**
 * Renews every lease a runner holds in one statement each lease/3 of clock time (SPEC §6.2), and aborts the
 * attempts whose lease is gone (the job was cancelled, or swept because renewals failed for a whole lease).
 */
export class LeaseKeeper {
  readonly #ctx: RuntimeContext;
  readonly #leaseMs: number;
  readonly #held: () => Iterable<HeldLease>;
  readonly #stillHeld: (jobId: string) => boolean;

  /** `held` lists the leases to renew; `stillHeld` tells whether one is still held once a renewal returns. */
  constructor(ctx: RuntimeContext, leaseMs: number, held: () => Iterable<HeldLease>, stillHeld: (jobId: string) => boolean) {
    this.#ctx = ctx;
    this.#leaseMs = leaseMs;
    this.#held = held;
    this.#stillHeld = stillHeld;
  }

  /** Starts renewing on the clock; returns the function that stops it. */
  start(): () => void {
    let cancel = () => {};
    let stopped = false;
    let chain = Promise.resolve();
    const schedule = () => {
      cancel = this.#ctx.clock.setTimer(Math.max(1, Math.floor(this.#leaseMs / 3)), () => {
        // Reschedule first: a clock jump spanning several periods must renew at each of them. Renewals run one
        // after another so a slow one never lands after (and undoes) a later one.
        if (!stopped) schedule();
        const now = this.#ctx.clock.now();
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
    const held = [...this.#held()];
    if (held.length === 0) return;
    try {
      const renewed = await this.#ctx.driver.leaseRenew({
        leases: held.map((h) => ({ jobId: h.job.id, leaseToken: h.job.leaseToken! })),
        leasedUntil: new Date(now.getTime() + this.#leaseMs),
        now,
      });
      for (const h of held) {
        if (!renewed.has(h.job.id) && this.#stillHeld(h.job.id)) {
          h.controller.abort(new Error("jobs: lease lost (the job was cancelled or reclaimed by the sweep)"));
        }
      }
    } catch (error) {
      this.#ctx.logger.error("jobs: lease renewal failed", { error: (error as Error).message, held: held.length });
    }
  }
}
