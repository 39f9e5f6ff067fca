/** The minimal worker any queue needs, shared by the raw-SQL floors: claim a batch, run it, mark it done. */
import { sleep, type Handler } from "./harness.ts";

export interface ClaimedRow {
  id: number | string;
  args: { i: number; t?: number };
}

/** A wake-up source: `wait(ms)` resolves on the next `kick()` or after `ms`. */
export class Waker {
  #waiters: Array<() => void> = [];
  kick(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.#waiters = self.#waiters.filter((w) => w !== done);
        resolve();
      }
      this.#waiters.push(done);
    });
  }
}

/**
 * Runs `loops` independent workers. Each claims up to `batch` rows, runs the handler for each (awaiting a
 * microtask, as a real async worker would), marks them done in one statement, and when the queue is empty
 * sleeps until the waker kicks or `idleMs` passes. Returns the stop function.
 */
export function startLoops(opts: {
  loops: number;
  batch: number;
  claim(limit: number): Promise<ClaimedRow[]>;
  done(ids: Array<number | string>): Promise<void>;
  handler: Handler;
  waker: Waker;
  idleMs: number;
}): () => Promise<void> {
  let stopping = false;
  const loop = async () => {
    while (!stopping) {
      const rows = await opts.claim(opts.batch);
      if (rows.length === 0) {
        await opts.waker.wait(opts.idleMs);
        continue;
      }
      await Promise.all(rows.map(async (row) => opts.handler(row.args)));
      await opts.done(rows.map((r) => r.id));
      // bun:sqlite is synchronous: without a macrotask turn, ten loops would starve every timer (and the
      // benchmark's own clock) until the queue is empty. A real worker has an event loop to share too.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  };
  const running = Array.from({ length: opts.loops }, () => loop());
  return async () => {
    stopping = true;
    opts.waker.kick();
    await Promise.all(running);
  };
}

export { sleep };
