import * as v from "valibot";
import { COMMAND_WORKER_DEFAULTS } from "../core/defaults.ts";
import type { WorkerDefinition } from "../core/types.ts";
import { commandWorker } from "./command-worker.ts";
import { type CommandWorkerOptions, requireScript } from "./env.ts";
import { COMMON_ARGS } from "./spawn.ts";

/** Args of the `shell` worker: exactly one of `script` and `inline`, plus the common fields. */
export const SHELL_ARGS = v.pipe(
  v.strictObject({
    /** A script file, relative to `baseDir`; run as `<shell> <script>`, so it needs no executable bit. */
    script: v.optional(v.pipe(v.string(), v.minLength(1))),
    /** Shell source run as `<shell> -c <inline>`; `args` become `$1…`. */
    inline: v.optional(v.pipe(v.string(), v.minLength(1))),
    /** The shell to run; default `sh`. */
    shell: v.optional(v.pipe(v.string(), v.minLength(1))),
    ...COMMON_ARGS,
  }),
  v.check((a) => (a.script === undefined) !== (a.inline === undefined), "shell: give exactly one of script or inline"),
);

/** Parsed args of the `shell` worker. */
export type ShellArgs = v.InferOutput<typeof SHELL_ARGS>;

/** The shell used when `shell` is not given. */

/**
 * The `shell` worker: runs a script file or inline source with `sh` (or `shell`), never through `Bun.$`,
 * whose shell language is Bun's own.
 * @example
 * fw.register(shellWorker({ baseDir: "/etc/flywheel" }));
 * await fw.insert("shell", { script: "./maint.sh", timeout_seconds: 600 });
 */
export function shellWorker(options: CommandWorkerOptions = {}): WorkerDefinition<ShellArgs, v.InferInput<typeof SHELL_ARGS>> {
  return commandWorker("shell", SHELL_ARGS, options, ({ script, inline, shell = COMMAND_WORKER_DEFAULTS.shell, args = [] }, { baseDir }) =>
    // With -c the first operand is $0; name it after the shell so args land in $1… as they would for a script.
    script !== undefined ? [shell, requireScript(baseDir, script), ...args] : [shell, "-c", inline ?? "", shell, ...args],
  );
}
