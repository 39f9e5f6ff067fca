import { Database } from "bun:sqlite";
import { closeSync, fchmodSync, openSync } from "node:fs";
import { FlywheelError } from "../../core/errors.ts";
import { SQLITE_DEFAULTS } from "../../core/defaults.ts";
import { sqliteCode } from "./errors.ts";

/** How flywheel sets up every SQLite connection it uses. `{}` means {@link SQLITE_DEFAULTS}. */
export interface ConnectionOptions {
  /** `full` makes every commit survive power loss; `normal` (default) survives any process crash. */
  synchronous?: "normal" | "full";
  busyTimeoutMs?: number;
}

/** The name SQLite reports for a database without a file (`:memory:` or a temporary database). */
export const IN_MEMORY = ":memory:";

/**
 * Opens (creating if needed) the SQLite file at `path`, or an in-memory database for `:memory:`, without
 * setting it up. A file this call creates is mode 0600 whatever the umask.
 */
export function openDatabase(path: string): Database {
  if (path !== IN_MEMORY && path !== "" && !path.startsWith("file:")) createPrivateFile(path);
  return new Database(path, { create: true, strict: true });
}

/**
 * A second connection on the file behind an application's handle, set up like the first, so the runtime's
 * statements and transactions never mix with the application's own. Null for a database without a file,
 * where no second connection can see the same data.
 */
export function openSiblingConnection(db: Database, options: ConnectionOptions): Database | null {
  const file = databaseFile(db);
  if (file === IN_MEMORY) return null;
  const sibling = new Database(file, { strict: true });
  try {
    configureConnection(sibling, options);
  } catch (error) {
    sibling.close(false);
    throw error;
  }
  return sibling;
}

/**
 * Applies flywheel's pragmas: the busy timeout first (the WAL switch may have to wait), WAL, and the
 * durability level. `synchronous` is per connection; WAL is recorded in the file.
 */
export function configureConnection(db: Database, options: ConnectionOptions): void {
  const busyTimeoutMs = options.busyTimeoutMs ?? SQLITE_DEFAULTS.busyTimeoutMs;
  db.run(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
  enableWal(db, busyTimeoutMs);
  db.run(`PRAGMA synchronous = ${(options.synchronous ?? SQLITE_DEFAULTS.synchronous) === "full" ? "FULL" : "NORMAL"}`);
}

/** The absolute path of the connection's main database file, or {@link IN_MEMORY} when it has none. */
export function databaseFile(db: Database): string {
  const main = (db.query("PRAGMA database_list").all() as Array<{ name: string; file: string }>).find((d) => d.name === "main");
  return main?.file ? main.file : IN_MEMORY;
}

/**
 * Refuses to run a runtime statement on a handle the application holds a transaction open on: the statement
 * would join that transaction, and the application's rollback would silently undo a claim or a finalize.
 */
export function assertNoOpenTransaction(db: Database): void {
  if (db.inTransaction) {
    throw new FlywheelError(
      "unavailable",
      "flywheel: the application holds a transaction open on the shared SQLite handle; flywheel waits until it ends",
    );
  }
}

/** Runs `fn` in a `BEGIN IMMEDIATE` transaction: taking the write lock up front avoids SQLITE_BUSY on read-then-write. */
export function immediate<T>(db: Database, fn: () => T): T {
  return db.transaction(fn).immediate();
}

/**
 * Creates the file empty with mode 0600 before SQLite opens it, so the jobs' args and outputs are private to
 * the user from the first byte. SQLite gives the `-wal` and `-shm` files the main file's mode. The chmod
 * undoes a umask that removes owner bits; only a file this call created is touched (O_EXCL), never one the
 * user made. Any failure here (missing directory, no permission) is left for SQLite's own open to report.
 */
function createPrivateFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o600);
  } catch {
    return;
  }
  try {
    fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
}

/**
 * Switches the file to WAL. SQLite answers SQLITE_BUSY here without consulting the busy timeout while another
 * process is opening the same new file (several `flywheel` commands started at once), so retry until the timeout.
 */
function enableWal(db: Database, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      db.run("PRAGMA journal_mode = WAL");
      return;
    } catch (error) {
      if (sqliteCode(error) !== "SQLITE_BUSY" || Date.now() >= deadline) throw error;
      Bun.sleepSync(5);
    }
  }
}
