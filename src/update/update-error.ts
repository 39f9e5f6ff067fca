/**
 * Why a self-update stopped. Every reason leaves the installed binary untouched.
 * - `refused`: this install must not replace itself (running from source, owned by npm or Homebrew, directory
 *   not writable); the message names the command that does the update instead.
 * - `release`: the release source answered, but not with a usable release (no such tag, no asset for this
 *   platform, no `checksums.txt`, malformed JSON).
 * - `network`: the release source or a download could not be reached or answered with an HTTP error.
 * - `checksum`: the downloaded binary does not match `checksums.txt`, or the staged binary failed to run.
 * - `usage`: a bad flag value, such as `--version` that is not a version.
 */
export type UpdateErrorCode = "refused" | "release" | "network" | "checksum" | "usage";

/**
 * The one error type `src/update` throws. Messages are a single line starting `flywheel:` that say what went
 * wrong and, where there is one, what to do instead; the CLI prints them as they are.
 */
export class UpdateError extends Error {
  /** Machine-readable reason; the CLI maps `usage` to exit code 2 and everything else to 1. */
  readonly code: UpdateErrorCode;
  constructor(code: UpdateErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "UpdateError";
    this.code = code;
  }
}
