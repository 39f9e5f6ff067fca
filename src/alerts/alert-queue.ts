import type { Flywheel, InsertManyItem } from "../flywheel.ts";

/**
 * Where a node's alerts go once raised: alert jobs inserted (an occurrence already alerted collides on its
 * unique key and is skipped), each logged, and the async work behind each event tracked so that a stopping node
 * can wait for it. Failures are logged, never thrown: an alert that cannot be raised must not disturb the job path.
 */
export class AlertQueue {
  readonly #fw: Flywheel<any>;
  readonly #pending = new Set<Promise<unknown>>();

  constructor(fw: Flywheel<any>) {
    this.#fw = fw;
  }

  /**
   * Inserts alert and ping jobs; returns their ids in input order (an already alerted occurrence's is the job
   * that holds its key) and how many are new. Pings log at debug (every run has them), alerts at info.
   */
  async enqueue(items: InsertManyItem[], what: string): Promise<{ ids: string[]; added: number }> {
    if (items.length === 0) return { ids: [], added: 0 };
    const ids = await this.#fw.insertMany(items);
    const skipped = new Set(ids.skipped.map((s) => s.index));
    const logger = this.#fw.logger;
    for (const [i, id] of ids.entries()) {
      if (skipped.has(i)) continue;
      const fields = { key: items[i]!.options?.uniqueKey, job_id: id };
      if (what === "ping") logger.debug("flywheel: alert enqueued", fields);
      else logger.info("flywheel: alert enqueued", fields);
    }
    return { ids, added: ids.length - skipped.size };
  }

  /**
   * Runs `fn` after the current event's listeners (the bus is synchronous and its listeners must not do I/O),
   * keeps it until it settles so {@link drain} can wait for it, and logs its failure, resolving null.
   */
  track<T>(what: string, slug: string, fn: () => Promise<T>): Promise<T | null> {
    const task: Promise<T | null> = Promise.resolve()
      .then(fn)
      .catch((error) => {
        this.failed(what, slug, error);
        return null;
      })
      .finally(() => this.#pending.delete(task));
    this.#pending.add(task);
    return task;
  }

  /** Resolves once every tracked task has settled, including those started meanwhile. */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** Logs an alert that could not be raised. */
  failed(what: string, slug: string | null, error: unknown): void {
    this.#fw.logger.error("flywheel: alert could not be raised", { alert: what, schedule: slug ?? undefined, error: (error as Error)?.message ?? String(error) });
  }
}
