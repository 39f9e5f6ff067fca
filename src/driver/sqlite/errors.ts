import { FlywheelError, type FlywheelErrorCode } from "../../core/errors.ts";

// bun:sqlite throws errors whose `code` is SQLite's extended result code name ("SQLITE_CONSTRAINT_UNIQUE",
// "SQLITE_BUSY_SNAPSHOT"). The driver's seam turns every one of them into a FlywheelError here, once, so the
// runtime branches on flywheel's closed code set and never on SQLite's.

/** Constraint failures that say the value itself is unacceptable, not that another row holds it. */
const REFUSED_VALUE_CONSTRAINTS = new Set(["SQLITE_CONSTRAINT_NOTNULL", "SQLITE_CONSTRAINT_CHECK"]);
/** Primary result codes for values SQLite cannot store as given. */
const REFUSED_VALUES = new Set(["SQLITE_MISMATCH", "SQLITE_TOOBIG", "SQLITE_RANGE"]);
/** Primary result codes that say the database cannot be used right now; retrying may work. */
const UNAVAILABLE = new Set(["SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_FULL", "SQLITE_READONLY"]);
/** Primary result codes for a damaged file, or one that is not a database at all. */
const DAMAGED = new Set(["SQLITE_CORRUPT", "SQLITE_NOTADB"]);

/** The SQLite result code name an error carries, or null when it is not one of bun:sqlite's. */
export function sqliteCode(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_") ? code : null;
}

/** Flywheel's error code for a SQLite result code name (extended or primary). */
export function flywheelCodeOf(code: string | null): FlywheelErrorCode {
  if (code === null) return "database";
  const primary = code.match(/^SQLITE_[A-Z]+/)![0];
  if (primary === "SQLITE_CONSTRAINT") return REFUSED_VALUE_CONSTRAINTS.has(code) ? "validation" : "conflict";
  if (REFUSED_VALUES.has(primary)) return "validation";
  if (UNAVAILABLE.has(primary)) return "unavailable";
  if (DAMAGED.has(primary)) return "corrupt";
  return "database";
}

/** Where an error happened, for its message. */
export interface ErrorSite {
  /** The driver method or step (`jobClaim`, `open`). */
  operation: string;
  /** The database file, or `:memory:`. */
  file: string;
}

/** Driver methods on the job path, whose messages start `jobs:` (the rest start `flywheel:`). */
const JOB_PATH = new Set(["jobClaim", "jobFinalize", "jobFinalizeAndClaim", "leaseRenew", "leaseListExpired", "workflowLoad", "stepSave"]);

/**
 * The {@link FlywheelError} for anything a SQLite statement threw; FlywheelErrors pass through unchanged.
 * The original error is the `cause` and its message is kept in the new one, with the SQLite code.
 */
export function normaliseSqliteError(error: unknown, site: ErrorSite): FlywheelError {
  if (error instanceof FlywheelError) return error;
  const code = sqliteCode(error);
  const flywheelCode = flywheelCodeOf(code);
  const prefix = JOB_PATH.has(site.operation) ? "jobs" : "flywheel";
  const text = `${error instanceof Error ? error.message : String(error)}${code ? ` (${code})` : ""}`;
  const message =
    flywheelCode === "corrupt"
      ? `${prefix}: the SQLite file ${site.file} is damaged (${site.operation}): ${text}`
      : `${prefix}: SQLite ${site.operation} failed: ${text}`;
  return new FlywheelError(flywheelCode, message, { cause: error });
}
