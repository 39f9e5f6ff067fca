/** The closed set of error codes flywheel raises; callers branch on `code`, operators grep the message prefix. */
export type FlywheelErrorCode =
  | "already_enqueued"
  | "job_not_found"
  | "periodic_not_found"
  | "validation"
  | "unknown_kind"
  | "invalid_state"
  | "invalid_duration"
  | "invalid_schedule"
  | "config_invalid"
  | "schema_too_new"
  | "database"
  | "closed";

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

/**
 * Throw from a worker to fail the job at once, without retries. The attempt records error class `permanent`
 * and the job becomes `discarded`.
 * @example throw new PermanentError("customer deleted");
 */
export class PermanentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PermanentError";
  }
}

/**
 * An error a worker throws when the failed attempt has something to record: `output` is stored on the run
 * (the command workers keep exit code, stdout and stderr there) and `errorClass` overrides classification.
 * @example throw new WorkerError("exit 3", { output: { exit_code: 3 }, errorClass: "permanent" });
 */
export class WorkerError extends Error {
  /** Stored on the attempt's run row as JSON. */
  readonly output: unknown;
  /** How the runtime treats the failure; undefined falls back to the worker's `classify` and the defaults. */
  readonly errorClass: "transient" | "timeout" | "permanent" | "validation" | undefined;
  constructor(
    message: string,
    options: { output?: unknown; errorClass?: "transient" | "timeout" | "permanent" | "validation"; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
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
