import type { Database } from "bun:sqlite";
import type { Row } from "../decode.ts";

/**
 * Wakes listeners when another connection or process commits to the database. `PRAGMA data_version` moves
 * only when another connection commits, so one pragma per tick sees other processes' inserts; this
 * connection's own commits are signalled in-process by the runtime. One timer serves every listener and runs
 * only while there is one.
 */
export class DataVersionWatch {
  readonly #db: Database;
  readonly #pollMs: number;
  readonly #listeners = new Set<() => void>();
  #timer: ReturnType<typeof setInterval> | null = null;
  #version = 0;

  constructor(db: Database, pollMs: number) {
    this.#db = db;
    this.#pollMs = pollMs;
  }

  /** Adds `listener`; returns the function that removes it. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    if (!this.#timer) {
      this.#version = readDataVersion(this.#db);
      this.#timer = setInterval(() => this.#poll(), this.#pollMs);
      this.#timer.unref?.();
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#stop();
    };
  }

  /** Removes every listener and stops the timer. */
  close(): void {
    this.#listeners.clear();
    this.#stop();
  }

  #poll(): void {
    let version: number;
    try {
      version = readDataVersion(this.#db);
    } catch {
      // A timer callback that throws is an uncaught exception; a missed tick only delays a wake-up, and the
      // runners' idle poll still finds the work.
      return;
    }
    if (version === this.#version) return;
    this.#version = version;
    for (const fn of this.#listeners) fn();
  }

  #stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}

/** The connection's `PRAGMA data_version`. */
function readDataVersion(db: Database): number {
  return (db.query("PRAGMA data_version").get() as Row).data_version as number;
}
