import type { Clock } from "../core/clock.ts";
import type { Driver } from "../driver/types.ts";

/**
 * "New work may exist" signals for idle runners and the scheduler: inserts in this process ({@link WakeHub.wake}),
 * work this process knows will come due ({@link WakeHub.at}), and other processes' commits as the driver notices
 * them (PostgreSQL `NOTIFY`, SQLite `data_version`).
 */
export class WakeHub {
  readonly #driver: Driver;
  readonly #clock: Clock;
  readonly #listeners = new Set<() => void>();
  /** Pending `at` timers; cancelled when nobody listens any more, so none keeps a finished process alive. */
  readonly #timers = new Set<() => void>();

  constructor(driver: Driver, clock: Clock) {
    this.#driver = driver;
    this.#clock = clock;
  }

  /** Calls `listener` on every wake-up from this process or the driver; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    const unsubscribe = this.#driver.wakeSubscribe({ listener });
    return () => {
      this.#listeners.delete(listener);
      unsubscribe();
      if (this.#listeners.size === 0) {
        for (const cancel of this.#timers) cancel();
        this.#timers.clear();
      }
    };
  }

  /** Wakes this process's idle runners and scheduler. */
  wake(): void {
    for (const listener of this.#listeners) listener();
  }

  /**
   * Wakes them at `when` of clock time: a job inserted here to run later starts on time, not at an idle poll.
   * Nothing is scheduled while nobody listens (no runner here would claim it anyway).
   */
  at(when: Date): void {
    if (this.#listeners.size === 0) return;
    const cancel = this.#clock.setTimer(Math.max(0, when.getTime() - this.#clock.now().getTime()), () => {
      this.#timers.delete(cancel);
      this.wake();
    });
    this.#timers.add(cancel);
  }
}
