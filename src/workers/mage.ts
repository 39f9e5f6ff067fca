import * as v from "valibot";
import type { WorkerDefinition } from "../core/types.ts";
import { commandWorker } from "./command-worker.ts";
import { childEnv, type CommandWorkerOptions, firstOnPath } from "./env.ts";
import { COMMON_ARGS } from "./spawn.ts";

/** Args of the `mage` worker: the `targets` to run, plus the common fields. */
export const MAGE_ARGS = v.strictObject({
  /** Targets run in order, e.g. `["build", "test"]`. */
  targets: v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1, "mage: give at least one target")),
  /** The binary; default `magex`, or `mage` when only that is on PATH. */
  binary: v.optional(v.pipe(v.string(), v.minLength(1))),
  ...COMMON_ARGS,
});

/** Parsed args of the `mage` worker. */
export type MageArgs = v.InferOutput<typeof MAGE_ARGS>;

/** Binaries tried, in order, when `binary` is not given. */
export const MAGE_BINARIES = ["magex", "mage"] as const;

/**
 * The `mage` worker: runs `<binary> <args…> <targets…>`; `args` come first because mage reads flags
 * (`-v`, `-d dir`) before targets.
 * @example
 * fw.register(mageWorker());
 * await fw.insert("mage", { targets: ["build"], dir: "/src/app", args: ["-v"] });
 */
export function mageWorker(options: CommandWorkerOptions = {}): WorkerDefinition<MageArgs, v.InferInput<typeof MAGE_ARGS>> {
  return commandWorker("mage", MAGE_ARGS, options, ({ targets, binary, env, args = [] }, { envAllowlist }) => {
    const program = binary ?? firstOnPath(MAGE_BINARIES, childEnv(envAllowlist, env).PATH);
    return [program, ...args, ...targets];
  });
}
