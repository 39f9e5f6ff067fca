import { describe, expect } from "bun:test";
import { row, type AnyDriver } from "./factory.ts";
import type { Kit } from "./harness.ts";

/** How long a wake-up may take before the case fails: a deadline, not a pause. */
const WAKE_DEADLINE_MS = 5_000;

/**
 * Counts a listener's calls and lets a test await the next one. A dialect may call its listeners once more when
 * a subscription (re)starts listening (PostgreSQL does), so a case proves an insert caused a wake-up by
 * awaiting one call after each of two inserts: at most one of them can be that extra call.
 */
class Calls {
  count = 0;
  #waiters: Array<{ above: number; resolve(): void }> = [];

  readonly listener = (): void => {
    this.count++;
    for (const w of this.#waiters.filter((w) => this.count > w.above)) w.resolve();
    this.#waiters = this.#waiters.filter((w) => this.count <= w.above);
  };

  /** Resolves once the count exceeds `above`; rejects after the deadline. */
  above(above: number, what: string): Promise<void> {
    if (this.count > above) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`kit: no wake-up within ${WAKE_DEADLINE_MS} ms after ${what}`)), WAKE_DEADLINE_MS);
      this.#waiters.push({
        above,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

/** Inserts from `peer` and awaits a call of `calls` counted after the insert started, twice. */
async function insertAndAwaitWake(peer: AnyDriver, calls: Calls): Promise<void> {
  for (const round of [1, 2]) {
    const seen = calls.count;
    await peer.jobInsert({ jobs: [row()] });
    await calls.above(seen, `another connection's insert #${round}`);
  }
}

/** wakeSubscribe: another connection's (or process's) insert wakes the listeners. */
export function listenArea(kit: Kit): void {
  describe("wakeSubscribe", () => {
    kit.test("another connection's insert calls the listener", async () => {
      const { driver, openPeer } = await kit.open();
      const peer = await openPeer();
      const calls = new Calls();
      const unsubscribe = driver.wakeSubscribe({ listener: calls.listener });
      try {
        await insertAndAwaitWake(peer, calls);
      } finally {
        unsubscribe();
      }
    });

    kit.test("an unsubscribed listener is no longer called while others are", async () => {
      const { driver, openPeer } = await kit.open();
      const peer = await openPeer();
      const kept = new Calls();
      const dropped = new Calls();
      const unsubscribeKept = driver.wakeSubscribe({ listener: kept.listener });
      const unsubscribeDropped = driver.wakeSubscribe({ listener: dropped.listener });
      try {
        await insertAndAwaitWake(peer, kept);
        unsubscribeDropped();
        const droppedSoFar = dropped.count;
        // Every listener of a subscription is called on the same wake-up, so once `kept` has seen two more,
        // `dropped` would have seen them too.
        await insertAndAwaitWake(peer, kept);
        expect(dropped.count).toBe(droppedSoFar);
      } finally {
        unsubscribeKept();
        unsubscribeDropped();
      }
    });
  });
}
