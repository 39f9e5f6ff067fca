import type postgres from "postgres";

/** Wait before retrying a `LISTEN` that failed. */
const LISTEN_RETRY_MS = 5_000;

/**
 * `LISTEN`s on the channel while anyone is subscribed. postgres.js keeps the listening connection outside the
 * pool and re-issues `LISTEN` after it reconnects; notifications sent while it was down are lost, so every
 * (re)subscription also calls the listeners once. Runners poll as well, so a lost wake-up delays work by at
 * most one poll interval, never loses it.
 */
export class WakeListener {
  readonly #sql: postgres.Sql<any>;
  readonly #channel: string;
  readonly #listeners = new Set<() => void>();
  #listening: Promise<postgres.ListenMeta | null> | null = null;
  #closed = false;

  constructor(sql: postgres.Sql<any>, channel: string) {
    this.#sql = sql;
    this.#channel = channel;
  }

  /** Calls `listener` on every notification; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    if (!this.#listening && !this.#closed) this.#listening = this.#listen();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size > 0 || !this.#listening) return;
      const listening = this.#listening;
      this.#listening = null;
      void listening.then((meta) => meta?.unlisten()).catch(() => {});
    };
  }

  /** Drops every listener and stops listening; later subscriptions never listen. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    const listening = this.#listening;
    this.#listening = null;
    if (listening) await (await listening.catch(() => null))?.unlisten().catch(() => {});
  }

  async #listen(): Promise<postgres.ListenMeta | null> {
    const wake = () => {
      for (const fn of this.#listeners) fn();
    };
    try {
      // While the server is unreachable postgres.js keeps this pending and retries; it rejects on errors such as
      // a refused login.
      return await this.#sql.listen(this.#channel, wake, wake);
    } catch {
      // Runners poll meanwhile; try again later while anyone still wants wake-ups.
      this.#listening = null;
      const retry = setTimeout(() => {
        if (!this.#closed && !this.#listening && this.#listeners.size > 0) this.#listening = this.#listen();
      }, LISTEN_RETRY_MS);
      retry.unref?.();
      return null;
    }
  }
}
