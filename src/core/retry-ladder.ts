import type { Logger } from "./logger.ts";

/** First delay after a database error. */
const FIRST_MS = 100;
/** Longest delay between tries (SPEC §8). */
const CAP_MS = 30_000;

/**
 * Backoff for database errors in long-running loops: delays double up to 30 s, and each rung is logged once,
 * so an outage produces a handful of lines rather than one per poll. `succeeded` logs the recovery and resets.
 */
export class RetryLadder {
  #delay = 0;
  constructor(
    private readonly logger: Logger,
    private readonly message: string,
  ) {}

  /** The delay the next failure will wait; 0 while healthy. */
  get delayMs(): number {
    return this.#delay;
  }

  /** Records a failure, logs the new rung, and waits it out (or until `signal` aborts). */
  async failed(error: unknown, signal?: AbortSignal): Promise<void> {
    const next = this.#delay === 0 ? FIRST_MS : Math.min(this.#delay * 2, CAP_MS);
    if (next !== this.#delay) {
      this.logger.error(this.message, { error: (error as Error)?.message ?? String(error), retry_in_ms: next });
    }
    this.#delay = next;
    await sleep(this.#delay, signal);
  }

  /** Records a success; logs recovery when it follows failures. */
  succeeded(): void {
    if (this.#delay === 0) return;
    this.logger.info(`${this.message}: recovered`);
    this.#delay = 0;
  }
}

/** Resolves after `ms` real milliseconds, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
