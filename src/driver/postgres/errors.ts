import { FlywheelError, type FlywheelErrorCode } from "../../core/errors.ts";
import type { Driver } from "../types.ts";

// Only FlywheelErrors leave the driver. postgres.js rejects with three kinds of error: PostgresError (the server
// answered with a SQLSTATE), plain Errors with a `CONNECTION_*` code (its own connection handling), and the
// socket's system errors (`ECONNREFUSED`, …). Each becomes one code of the closed set, keeping the original as
// `cause` and its text in the message.

/** postgres.js's own codes for a connection that broke, timed out, or could not be made. */
const CONNECTION_CODES = new Set(["CONNECTION_CLOSED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT"]);

/** Socket errors: the server is unreachable right now; retrying may work. */
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);

/**
 * SQLSTATEs (beyond class 08, connection exception) that mean "not now" rather than "never": the server is
 * shutting down or starting (57P01–57P05), has no connection slot free (53300), a lock is taken (55P03), or the
 * transaction lost a deadlock or a serialization conflict (40P01, 40001) and may simply run again. A finalize
 * that wakes parents locks their rows too, so two batches can deadlock over each other's parents.
 */
const UNAVAILABLE_STATES = /^(08...|57P0.|53300|55P03|40P01|40001)$/;

/** The methods on the job path (claim, run, finalize, a workflow attempt's reads and writes), whose messages start `jobs:`. */
const JOB_PATH: ReadonlySet<keyof Driver> = new Set<keyof Driver>([
  "jobClaim",
  "jobFinalize",
  "jobFinalizeAndClaim",
  "leaseRenew",
  "leaseListExpired",
  "workflowLoad",
  "stepSave",
]);

/** The code a postgres.js error gets. */
export function pgErrorCode(error: unknown): FlywheelErrorCode {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return "database";
  // By name, not instanceof: an app's own handle may come from another copy of postgres.js.
  if (error instanceof Error && error.name === "PostgresError") {
    // SQLSTATE class 22 is a data exception (a value or cast the server refuses), 23 an integrity constraint violation.
    if (code.startsWith("22")) return "validation";
    if (code.startsWith("23")) return "conflict";
    return UNAVAILABLE_STATES.test(code) ? "unavailable" : "database";
  }
  // The pool was ended (`sql.end()`): no statement can run on it again, so retrying is pointless.
  if (code === "CONNECTION_ENDED") return "closed";
  return CONNECTION_CODES.has(code) || SOCKET_CODES.has(code) ? "unavailable" : "database";
}

/**
 * `error` as a {@link FlywheelError} raised by driver method `method`: a FlywheelError passes unchanged; anything
 * else gets its code from {@link pgErrorCode} and a message `jobs: <method>: <original text>` on the job path,
 * `flywheel: <method>: <original text>` elsewhere.
 */
export function toFlywheelError(error: unknown, method: keyof Driver): FlywheelError {
  if (error instanceof FlywheelError) return error;
  const text = error instanceof Error ? error.message : String(error);
  const prefix = JOB_PATH.has(method) ? "jobs" : "flywheel";
  return new FlywheelError(pgErrorCode(error), `${prefix}: ${method}: ${text}`, { cause: error });
}

/** The error of a driver that was closed; `cause` is the failure a statement cut off by the close met. */
export function closedError(cause?: unknown): FlywheelError {
  return new FlywheelError("closed", "flywheel: the PostgreSQL driver is closed", cause === undefined ? undefined : { cause });
}
