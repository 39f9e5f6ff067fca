import { parseDuration, type Duration } from "./duration.ts";

/**
 * The source of all runtime time: timestamps written to the database, due checks, lease expiry, job timeouts
 * and lease renewal timers. Idle polling uses real timers; everything that decides correctness uses the clock.
 */
export interface Clock {
  /** The current instant. */
  now(): Date;
  /** Calls `fn` once `ms` of this clock's time have passed; returns a function that cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
}

/** The wall clock with real timers. */
export const systemClock: Clock = {
  now: () => new Date(),
  setTimer(ms, fn) {
    const handle = setTimeout(fn, ms);
    return () => clearTimeout(handle);
  },
};

interface PendingTimer {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that only moves when told to, for exact tests: `advance` and `set` fire every timer that falls due,
 * in due order.
 * @example
 * const clock = new FixedClock(new Date("2026-03-08T06:00:00Z"));
 * const fw = await connect("sqlite::memory:", { clock });
 * clock.advance("5m");
 */
export class FixedClock implements Clock {
  #now: number;
  #timers: PendingTimer[] = [];
  #seq = 0;

  constructor(start: Date = new Date()) {
    this.#now = start.getTime();
  }

  /** The clock's current instant. */
  now(): Date {
    return new Date(this.#now);
  }

  /** Schedules `fn` at now + `ms` of this clock's time. */
  setTimer(ms: number, fn: () => void): () => void {
    const timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#timers.push(timer);
    return () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
    };
  }

  /** Moves time forward by `by` and fires the timers that fall due, earliest first. */
  advance(by: Duration): Date {
    return this.set(new Date(this.#now + parseDuration(by)));
  }

  /** Moves time to `to` (never backwards for timers: a past instant fires nothing) and fires due timers. */
  set(to: Date): Date {
    const target = to.getTime();
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = Math.max(this.#now, due.at);
      due.fn();
    }
    this.#now = target;
    return this.now();
  }

  /** How many timers are waiting; lets tests assert that nothing was left scheduled. */
  get pendingTimers(): number {
    return this.#timers.length;
  }
}
