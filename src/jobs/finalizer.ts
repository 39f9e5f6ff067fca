import type { Clock } from "../core/clock.ts";
import { ERROR_MESSAGE_LIMIT } from "../core/defaults.ts";
import type { Driver, FinalizeItem, FinalizeOutcome } from "../driver/types.ts";
import { FlywheelError, isDataRefusal } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import { RetryLadder } from "../core/retry-ladder.ts";
import type { EventBus } from "../runtime/events.ts";

interface Pending {
  item: FinalizeItem;
  resolve(outcome: FinalizeOutcome): void;
  reject(error: unknown): void;
}

/**
 * Group-commits attempt outcomes: items submitted in the same turn of the event loop share one finalize
 * transaction. A failed commit is retried with backoff until it lands, because an outcome the worker already
 * produced must never be lost (SPEC §6.6). An item the database refuses for its data (a constraint or value
 * error, which no retry can fix) is recorded as a refused finalize instead, so it cannot stall the outcomes
 * behind it.
 */
export class Finalizer {
  readonly #driver: Driver;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #events: EventBus;
  readonly #ladder: RetryLadder;
  #queue: Pending[] = [];
  #scheduled = false;
  #active = 0;

  constructor(driver: Driver, clock: Clock, logger: Logger, events: EventBus) {
    this.#driver = driver;
    this.#clock = clock;
    this.#logger = logger;
    this.#events = events;
    this.#ladder = new RetryLadder(logger, "jobs: finalize failed");
  }

  /** Queues an item; resolves once its outcome is committed. */
  submit(item: FinalizeItem): Promise<FinalizeOutcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  // Commits are round trips; several in flight keep a network database busy. Items that arrive while all are
  // busy gather into the next, larger batch. Batches never share a job, so they cannot conflict.
  #schedule(): void {
    if (this.#scheduled || this.#active >= MAX_PARALLEL_COMMITS || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      const batch = this.#queue;
      this.#queue = [];
      this.#active++;
      void this.#commit(batch).finally(() => {
        this.#active--;
        this.#schedule();
      });
    });
  }

  async #commit(batch: Pending[]): Promise<void> {
    for (;;) {
      try {
        const outcomes = await this.#driver.jobFinalize({ items: batch.map((p) => p.item), now: this.#clock.now() });
        this.#ladder.succeeded();
        batch.forEach((p, i) => p.resolve(outcomes[i]!));
        return;
      } catch (error) {
        // A closed client cannot come back; anything else (an outage, a lock timeout) can, so keep trying.
        if (error instanceof FlywheelError && error.code === "closed") {
          for (const p of batch) p.reject(error);
          return;
        }
        if (isDataRefusal(error)) {
          // Find the item the database refuses; the rest of the batch commits without it.
          if (batch.length > 1) {
            for (const p of batch) await this.#commit([p]);
            return;
          }
          const pending = batch[0]!;
          if (!isRefusal(pending.item)) {
            this.#logger.error("jobs: the database refused an outcome; recording the refusal instead", {
              job_id: pending.item.jobId,
              run_id: pending.item.runId,
              error: (error as Error)?.message ?? String(error),
            });
            pending.item = refusal(pending.item, error);
            this.#events.emit("job:refused", { jobId: pending.item.jobId, runId: pending.item.runId, error: (error as Error)?.message ?? String(error) });
            continue;
          }
        }
        await this.#ladder.failed(error);
      }
    }
  }
}

const REFUSED = "jobs: finalize refused by the database: ";
/** Finalize transactions in flight at once. */
const MAX_PARALLEL_COMMITS = 4;

function isRefusal(item: FinalizeItem): boolean {
  return item.run.errorMessage?.startsWith(REFUSED) ?? false;
}

/** The same attempt, recorded as a discarding error with the database's reason and nothing else to write. */
function refusal(item: FinalizeItem, error: unknown): FinalizeItem {
  return {
    ...item,
    run: {
      ...item.run,
      outcome: "error",
      errorClass: "validation",
      errorMessage: `${REFUSED}${(error as Error)?.message ?? String(error)}`.slice(0, ERROR_MESSAGE_LIMIT),
      output: null,
      costMicros: null,
    },
    job: { state: "discarded", scheduledAt: null, maxAttemptsDelta: 0 },
    followUps: [],
  };
}
