import type { Database } from "bun:sqlite";
import { existsSync, watch, type FSWatcher } from "node:fs";
import { SQLITE_DEFAULTS } from "../../core/defaults.ts";
import type { Row } from "../decode.ts";

/** How long after a `-wal` write that showed no new commit to look again. */
const RELOOK_MS = 2;

/**
 * Wakes listeners when another connection or process commits to the database. `PRAGMA data_version` moves only
 * when another connection commits (this connection's own commits are signalled in-process by the runtime), so
 * a look at it tells whether anything happened. When to look: whenever the file system says the `-wal` file
 * changed (inotify on Linux, kqueue on macOS: no cost while nothing happens, and no delay when something does),
 * plus a slow poll in case an event is missed (a file system without notifications, a watcher that failed).
 * Without file notifications it falls back to looking every `pollMs`. Runs only while someone listens.
 */
export class DataVersionWatch {
  readonly #db: Database;
  readonly #file: string | null;
  readonly #pollMs: number;
  readonly #listeners = new Set<() => void>();
  #timer: ReturnType<typeof setInterval> | null = null;
  #relook: ReturnType<typeof setTimeout> | null = null;
  #watcher: FSWatcher | null = null;
  #version = 0;

  /** `file` is the database file (null in memory, where no other process can commit); `pollMs` the look interval without notifications. */
  constructor(db: Database, file: string | null, pollMs: number) {
    this.#db = db;
    this.#file = file;
    this.#pollMs = pollMs;
  }

  /** Adds `listener`; returns the function that removes it. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    if (this.#listeners.size === 1) this.#start();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#stop();
    };
  }

  /** Removes every listener and stops watching. */
  close(): void {
    this.#listeners.clear();
    this.#stop();
  }

  #start(): void {
    if (this.#file === null) return;
    this.#version = readDataVersion(this.#db);
    this.#watchOrPoll(this.#file);
  }

  /**
   * Watches the database's `-wal` file, which every commit writes (SQLite resets it in place rather than replacing
   * it while a connection is open), with a slow poll behind it; until that file exists (no connection has written
   * yet), or when watching fails, looks every `pollMs` instead, switching to the watch once the file is there.
   * The file, not its directory: in a busy directory such as /tmp a directory watch was seen to lag by a second.
   */
  #watchOrPoll(file: string): void {
    this.#stop();
    const wal = `${file}-wal`;
    if (existsSync(wal)) {
      try {
        this.#watcher = watch(wal, { persistent: false }, () => this.#lookAfterWrite());
        // A watcher that breaks (the file went away with the last connection) hands back to the poll.
        this.#watcher.on("error", () => this.#watchOrPoll(file));
        this.#every(SQLITE_DEFAULTS.wakeFallbackMs, () => this.#look());
        return;
      } catch {
        // No notifications here (some network file systems): poll.
      }
    }
    this.#every(this.#pollMs, () => {
      this.#look();
      if (existsSync(wal)) this.#watchOrPoll(file);
    });
  }

  #every(ms: number, fn: () => void): void {
    this.#timer = setInterval(fn, ms);
    this.#timer.unref?.();
  }

  /**
   * A write to the `-wal` file may be a transaction's frames before its commit frame: a look at that instant
   * sees nothing new, and the commit that follows may raise no event of its own, so the wake-up would wait for
   * the next write (a later insert, 20 ms on in the latency benchmark: p95 21 ms instead of 2). So a look that
   * finds nothing looks once more, {@link RELOOK_MS} later.
   */
  #lookAfterWrite(): void {
    if (this.#look() || this.#relook !== null) return;
    this.#relook = setTimeout(() => {
      this.#relook = null;
      this.#look();
    }, RELOOK_MS);
    this.#relook.unref?.();
  }

  /** Wakes the listeners when another connection committed since the last look; says whether it did. */
  #look(): boolean {
    let version: number;
    try {
      version = readDataVersion(this.#db);
    } catch {
      // A timer or watcher callback that throws is an uncaught exception; a missed look only delays a wake-up,
      // and the runners' idle poll still finds the work.
      return false;
    }
    if (version === this.#version) return false;
    this.#version = version;
    for (const fn of this.#listeners) fn();
    return true;
  }

  #stop(): void {
    this.#watcher?.close();
    this.#watcher = null;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#relook) clearTimeout(this.#relook);
    this.#relook = null;
  }
}

/** The connection's `PRAGMA data_version`. */
function readDataVersion(db: Database): number {
  return (db.query("PRAGMA data_version").get() as Row).data_version as number;
}
