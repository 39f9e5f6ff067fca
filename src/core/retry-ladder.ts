import { LOOP_BACKOFF_DEFAULTS } from "./defaults.ts";
import type { Logger } from "./logger.ts";

/**
 * Backoff for database errors in long-running loops: delays double from 100 ms up to 30 s, and each rung is
 * logged once, so an outage produces a handful of lines rather than one per poll. `succeeded` logs the recovery
 * and resets.
 */
export class RetryLadder {
  #delay = 0;
  readonly #logger: Logger;
  readonly #message: string;
  readonly #onFailure: ((error: unknown, delayMs: number) => void) | undefined;

  /** `onFailure` hears of every failure with the delay it will wait (the runner reports it as an event). */
  constructor(logger: Logger, message: string, onFailure?: (error: unknown, delayMs: number) => void) {
    this.#logger = logger;
    this.#message = message;
    this.#onFailure = onFailure;
  }

  /** Records a failure, logs the new rung, and waits it out (or until `signal` aborts). */
  async failed(error: unknown, signal?: AbortSignal): Promise<void> {
    const next = this.#delay === 0 ? LOOP_BACKOFF_DEFAULTS.firstMs : Math.min(this.#delay * 2, LOOP_BACKOFF_DEFAULTS.capMs);
    if (next !== this.#delay) {
      this.#logger.error(this.#message, { error: (error as Error)?.message ?? String(error), retry_in_ms: next });
    }
    this.#delay = next;
    this.#onFailure?.(error, next);
    await sleep(next, signal);
  }

  /** Records a success; logs recovery when it follows failures. */
  succeeded(): void {
    if (this.#delay === 0) return;
    this.#logger.info(`${this.#message}: recovered`);
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
