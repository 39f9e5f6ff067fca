import type { FinalizeItem, FinalizeOutcome } from "../driver/types.ts";
import type { Finalizer } from "./finalizer.ts";

/** A finished attempt's outcome on its way to the database, and the worker-side promise waiting for it. */
export interface Settling {
  item: FinalizeItem;
  resolve(outcome: FinalizeOutcome): void;
  reject(error: unknown): void;
}

/**
 * Where a runner's finished outcomes wait for the claim that refills their slots, which commits them in the
 * same transaction (one round trip a cycle). While no claim is coming (the runner is full, backing off,
 * draining or stopped) outcomes go straight to the {@link Finalizer} instead, so none waits on a claim that is
 * not coming (SPEC §6.6: an outcome is never lost or held back).
 */
export class Outbox {
  readonly #finalizer: Finalizer;
  readonly #windowMs: number;
  #waiting: Settling[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** True while the runner's loop claims; outcomes wait for its next claim only then. */
  claiming = false;

  /** `windowMs`: with a prefetch buffer, the longest an outcome waits for a claim before it goes on its own. */
  constructor(finalizer: Finalizer, windowMs: number) {
    this.#finalizer = finalizer;
    this.#windowMs = windowMs;
  }

  /** Outcomes waiting for the next claim. */
  get length(): number {
    return this.#waiting.length;
  }

  /** Commits `item`: with the next claim while the loop claims, else through the finalizer. */
  settle(item: FinalizeItem): Promise<FinalizeOutcome> {
    if (!this.claiming) return this.#finalizer.submit(item);
    return new Promise((resolve, reject) => this.#waiting.push({ item, resolve, reject }));
  }

  /** Takes every waiting outcome, to commit with a claim. */
  take(): Settling[] {
    return this.#waiting.splice(0);
  }

  /** Hands every waiting outcome to the finalizer. */
  flush(): void {
    this.toFinalizer(this.take());
  }

  /**
   * With a prefetch buffer the next claim may be far off, so outcomes wait for it at most a short window (wall
   * time: it bounds a write delay, not job logic) and then commit together through the finalizer.
   */
  flushSoon(): void {
    if (this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.flush();
    }, this.#windowMs);
  }

  /** Commits `settling` through the finalizer (a claim that was to carry them failed, or none is coming). */
  toFinalizer(settling: Settling[]): void {
    for (const s of settling) this.#finalizer.submit(s.item).then(s.resolve, s.reject);
  }
}
