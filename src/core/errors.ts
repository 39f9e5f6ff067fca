/**
 * The closed set of error codes flywheel raises; callers branch on `code`, operators grep the message prefix,
 * and the CLI maps each code to an exit status ({@link exitStatusOf}).
 *
 * - `already_enqueued`: a unique key collided ({@link AlreadyEnqueuedError}).
 * - `job_not_found`, `periodic_not_found`: no such job or periodic.
 * - `validation`: input flywheel refuses (args, options, a value the database cannot store).
 * - `conflict`: the database refused a write for a constraint other than a job's unique keys.
 * - `unknown_kind`: no worker is registered for a kind.
 * - `invalid_state`: the operation does not apply to the target's current state (retrying a running job).
 * - `invalid_duration`, `invalid_schedule`: a duration or cron/interval/timezone that cannot be used.
 * - `config_invalid`: a config file or connect option that cannot be used (exit 2).
 * - `usage`: a command line that cannot be run as given (exit 2).
 * - `schema_too_new`: the database was migrated by a newer flywheel.
 * - `unavailable`: the database cannot be reached right now (connection refused, lost, busy); retrying may work.
 * - `corrupt`: the database file is damaged.
 * - `database`: any other database failure.
 * - `closed`: the client or driver was closed.
 * - `permanent`: thrown by a worker to fail its job without retries ({@link PermanentError}).
 * - `worker_failed`: thrown by a worker with output to record ({@link WorkerError}).
 * - `job_failed`: a job awaited with `result` ended discarded or cancelled ({@link JobFailedError}).
 * - `child_failed`: a workflow's joined child ended discarded or cancelled ({@link ChildFailedError}).
 * - `timeout`: a wait gave up at its deadline.
 * - `update_refused`, `update_release`, `update_network`, `update_checksum`: why a self-update stopped.
 */
export type FlywheelErrorCode =
  | "already_enqueued"
  | "job_not_found"
  | "periodic_not_found"
  | "validation"
  | "conflict"
  | "unknown_kind"
  | "invalid_state"
  | "invalid_duration"
  | "invalid_schedule"
  | "config_invalid"
  | "usage"
  | "schema_too_new"
  | "unavailable"
  | "corrupt"
  | "database"
  | "closed"
  | "permanent"
  | "worker_failed"
  | "job_failed"
  | "child_failed"
  | "timeout"
  | "update_refused"
  | "update_release"
  | "update_network"
  | "update_checksum";

/** The CLI's exit status for each code: 2 for what the operator must change in the command line or config, else 1. */
const EXIT_STATUS: Record<FlywheelErrorCode, 1 | 2> = {
  already_enqueued: 1,
  job_not_found: 1,
  periodic_not_found: 1,
  validation: 2,
  conflict: 1,
  unknown_kind: 2,
  invalid_state: 1,
  invalid_duration: 2,
  invalid_schedule: 2,
  config_invalid: 2,
  usage: 2,
  schema_too_new: 1,
  unavailable: 1,
  corrupt: 1,
  database: 1,
  closed: 1,
  permanent: 1,
  worker_failed: 1,
  job_failed: 1,
  child_failed: 1,
  timeout: 1,
  update_refused: 1,
  update_release: 1,
  update_network: 1,
  update_checksum: 1,
};

/** The process exit status for an error: by code for a {@link FlywheelError}, 1 for anything else. */
export function exitStatusOf(error: unknown): 1 | 2 {
  return error instanceof FlywheelError ? EXIT_STATUS[error.code] : 1;
}

/**
 * Base class of every error flywheel throws. Messages start `jobs:` on the job path (claim, run, finalize)
 * and `flywheel:` everywhere else.
 */
export class FlywheelError extends Error {
  /** Machine-readable reason. */
  readonly code: FlywheelErrorCode;
  constructor(code: FlywheelErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "FlywheelError";
    this.code = code;
  }
}

/** Thrown by `insert` when a `uniqueKey` or `uniqueActiveKey` collides; `existingId` is the job that holds the key. */
export class AlreadyEnqueuedError extends FlywheelError {
  /** Id of the job that already holds the key. */
  readonly existingId: string;
  /** Which key collided. */
  readonly key: "unique_key" | "unique_active_key";
  constructor(existingId: string, key: "unique_key" | "unique_active_key", value: string) {
    super("already_enqueued", `flywheel: a job with ${key} ${JSON.stringify(value)} is already enqueued (${existingId})`);
    this.name = "AlreadyEnqueuedError";
    this.existingId = existingId;
    this.key = key;
  }
}

/** Thrown by reads and operator actions when no job has the given id. */
export class JobNotFoundError extends FlywheelError {
  constructor(readonly jobId: string) {
    super("job_not_found", `flywheel: job ${jobId} not found`);
    this.name = "JobNotFoundError";
  }
}

/** Thrown by periodic operations when no periodic has the given slug. */
export class PeriodicNotFoundError extends FlywheelError {
  constructor(readonly slug: string) {
    super("periodic_not_found", `flywheel: periodic ${JSON.stringify(slug)} not found`);
    this.name = "PeriodicNotFoundError";
  }
}

/** Job args that fail the worker's schema; `path` is the dotted key that failed. */
export class ValidationError extends FlywheelError {
  constructor(message: string, readonly path?: string) {
    super("validation", message);
    this.name = "ValidationError";
  }
}

/** Thrown by `result` when the awaited job ended `discarded` or `cancelled`; `errorMessage` is its last attempt's error. */
export class JobFailedError extends FlywheelError {
  constructor(
    readonly jobId: string,
    readonly state: "discarded" | "cancelled",
    readonly errorMessage: string | null,
  ) {
    super("job_failed", `flywheel: job ${jobId} ended ${state}${errorMessage ? `: ${errorMessage}` : ""}`);
    this.name = "JobFailedError";
  }
}

/** Thrown by a workflow's `ctx.join` when the child ended `discarded` or `cancelled`. Catch it to handle the failure. */
export class ChildFailedError extends FlywheelError {
  constructor(
    readonly childId: string,
    readonly state: "discarded" | "cancelled",
    readonly errorMessage: string | null,
  ) {
    super("child_failed", `jobs: child job ${childId} ended ${state}${errorMessage ? `: ${errorMessage}` : ""}`);
    this.name = "ChildFailedError";
  }
}

/**
 * Throw from a worker to fail the job at once, without retries. The attempt records error class `permanent`
 * and the job becomes `discarded`.
 * @example throw new PermanentError("customer deleted");
 */
export class PermanentError extends FlywheelError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("permanent", message, options);
    this.name = "PermanentError";
  }
}

/**
 * An error a worker throws when the failed attempt has something to record: `output` is stored on the run
 * (the command workers keep exit code, stdout and stderr there) and `errorClass` overrides classification.
 * @example throw new WorkerError("exit 3", { output: { exit_code: 3 }, errorClass: "permanent" });
 */
export class WorkerError extends FlywheelError {
  /** Stored on the attempt's run row as JSON. */
  readonly output: unknown;
  /** How the runtime treats the failure; undefined falls back to the worker's `classify` and the defaults. */
  readonly errorClass: "transient" | "timeout" | "permanent" | "validation" | undefined;
  constructor(
    message: string,
    options: { output?: unknown; errorClass?: "transient" | "timeout" | "permanent" | "validation"; cause?: unknown } = {},
  ) {
    super("worker_failed", message, { cause: options.cause });
    this.name = "WorkerError";
    this.output = options.output;
    this.errorClass = options.errorClass;
  }
}

/** Coerces anything a worker threw (strings, objects, `undefined`) into an `Error`, once, at the boundary. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === "string") return new Error(thrown);
  let text: string;
  try {
    text = JSON.stringify(thrown) ?? String(thrown);
  } catch {
    text = String(thrown);
  }
  return new Error(`non-Error value thrown: ${text}`);
}

/**
 * Whether the database refused a statement for its data (`validation`, or a `conflict` on a constraint):
 * deterministic, so retrying the same statement cannot succeed. Lost connections and lock timeouts are not.
 */
export function isDataRefusal(error: unknown): boolean {
  return error instanceof FlywheelError && (error.code === "validation" || error.code === "conflict");
}
