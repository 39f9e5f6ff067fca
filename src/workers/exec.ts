import * as v from "valibot";
import type { WorkerDefinition } from "../core/types.ts";
import { commandWorker } from "./command-worker.ts";
import { type CommandWorkerOptions, resolveFrom } from "./env.ts";
import { COMMON_ARGS } from "./spawn.ts";

/** Args of the `exec` worker: `command` run directly, no shell, plus the common fields. */
export const EXEC_ARGS = v.strictObject({
  /** A name looked up on the child's PATH, or a path (one containing `/`) relative to `baseDir`. */
  command: v.pipe(v.string(), v.minLength(1)),
  ...COMMON_ARGS,
});

/** Parsed args of the `exec` worker. */
export type ExecArgs = v.InferOutput<typeof EXEC_ARGS>;

/**
 * The `exec` worker: runs `command` with `args` as a plain argv, so nothing in them is shell-interpreted.
 * @example
 * fw.register(execWorker());
 * await fw.insert("exec", { command: "pg_dump", args: ["-f", "/backups/db.sql"], timeout_seconds: 600 });
 */
export function execWorker(options: CommandWorkerOptions = {}): WorkerDefinition<ExecArgs, v.InferInput<typeof EXEC_ARGS>> {
  return commandWorker("exec", EXEC_ARGS, options, ({ command, args = [] }, { baseDir }) => {
    // A bare name goes to PATH lookup; a path is the config author's, relative to the config.
    const program = command.includes("/") ? resolveFrom(baseDir, command) : command;
    return [program, ...args];
  });
}
