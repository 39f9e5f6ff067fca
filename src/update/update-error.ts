import { FlywheelError, type FlywheelErrorCode } from "../core/errors.ts";

/**
 * Why a self-update stopped. Every reason leaves the installed binary untouched.
 * - `refused`: this install must not replace itself (running from source, owned by npm or Homebrew, directory
 *   not writable), and the message names the command that does the update instead; or a URL breaks the
 *   transport rule (not `https`, `http` off loopback, `file:`), and the message names the URL and the rule.
 * - `release`: the release source answered, but not with a usable release (no such tag, no asset for this
 *   platform, no `checksums.txt`, malformed JSON).
 * - `network`: the release source or a download could not be reached or answered with an HTTP error.
 * - `checksum`: the downloaded binary does not match `checksums.txt`, `checksums.txt.sig` is missing or not
 *   signed by the binary's release key, or the staged binary failed to run.
 * - `usage`: a bad flag value, such as `--version` that is not a version.
 */
export type UpdateErrorReason = "refused" | "release" | "network" | "checksum" | "usage";

/** Each reason's code in flywheel's closed set, which decides the CLI's exit status (`usage` → 2, the rest → 1). */
const CODE_OF: Record<UpdateErrorReason, FlywheelErrorCode> = {
  refused: "update_refused",
  release: "update_release",
  network: "update_network",
  checksum: "update_checksum",
  usage: "usage",
};

/**
 * The one error type `src/update` throws. Messages are a single line starting `flywheel:` that say what went
 * wrong and, where there is one, what to do instead; the CLI prints them as they are.
 * @example throw new UpdateError("network", `flywheel: could not reach ${url}: ${why}`, { cause });
 */
export class UpdateError extends FlywheelError {
  /** Why the update stopped; `code` is the same reason in flywheel's closed set (`network` → `update_network`). */
  readonly reason: UpdateErrorReason;
  constructor(reason: UpdateErrorReason, message: string, options?: { cause?: unknown }) {
    super(CODE_OF[reason], message, options);
    this.name = "UpdateError";
    this.reason = reason;
  }
}
