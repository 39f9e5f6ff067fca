import { FlywheelError } from "../core/errors.ts";

/**
 * A command line that cannot be run as given: a bad flag value, a missing argument. Code `usage`, exit status 2;
 * `main.ts` prints it as one line (after the command's usage when the arguments did not parse).
 */
export class UsageError extends FlywheelError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("usage", message.startsWith("flywheel:") ? message : `flywheel: ${message}`, options);
    this.name = "UsageError";
  }
}
