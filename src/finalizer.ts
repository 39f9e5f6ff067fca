import type { Clock } from "./clock.ts";
import type { Driver, FinalizeItem, FinalizeOutcome } from "./driver/types.ts";
import { FlywheelError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { RetryLadder } from "./retry-ladder.ts";

interface Pending {
  item: FinalizeItem;
  resolve(outcome: FinalizeOutcome): void;
  reject(error: unknown): void;
}

/**
 * Group-commits attempt outcomes: items submitted in the same turn of the event loop share one finalize
 * transaction. A failed commit is retried with backoff until it lands, because an outcome the worker already
 * produced must never be lost (SPEC §6.6).
 */
export class Finalizer {
  readonly #driver: Driver;
  readonly #clock: Clock;
  readonly #ladder: RetryLadder;
  #queue: Pending[] = [];
  #scheduled = false;
  #flushing: Promise<void> = Promise.resolve();

  constructor(driver: Driver, clock: Clock, logger: Logger) {
    this.#driver = driver;
    this.#clock = clock;
    this.#ladder = new RetryLadder(logger, "jobs: finalize failed");
  }

  /** Queues an item; resolves once its outcome is committed. */
  submit(item: FinalizeItem): Promise<FinalizeOutcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#flushing = this.#flushing.then(() => this.#flush());
        });
      }
    });
  }

  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      for (;;) {
        try {
          const outcomes = await this.#driver.jobFinalize({ items: batch.map((p) => p.item), now: this.#clock.now() });
          this.#ladder.succeeded();
          batch.forEach((p, i) => p.resolve(outcomes[i]!));
          break;
        } catch (error) {
          // A closed client cannot come back; anything else (an outage, a lock timeout) can, so keep trying.
          if (error instanceof FlywheelError && error.code === "closed") {
            for (const p of batch) p.reject(error);
            break;
          }
          await this.#ladder.failed(error);
        }
      }
    }
  }
}
