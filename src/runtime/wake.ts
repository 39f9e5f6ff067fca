import type { Driver } from "../driver/types.ts";

/**
 * "New work may exist" signals for idle runners: inserts in this process ({@link WakeHub.wake}) and other
 * processes' commits as the driver notices them (PostgreSQL `NOTIFY`, SQLite `data_version`).
 */
export class WakeHub {
  readonly #driver: Driver;
  readonly #listeners = new Set<() => void>();

  constructor(driver: Driver) {
    this.#driver = driver;
  }

  /** Calls `listener` on every wake-up from this process or the driver; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    const unsubscribe = this.#driver.wakeSubscribe({ listener });
    return () => {
      this.#listeners.delete(listener);
      unsubscribe();
    };
  }

  /** Wakes this process's idle runners. */
  wake(): void {
    for (const listener of this.#listeners) listener();
  }
}
