import * as v from "valibot";
import type { WorkerDefinition } from "../core/types.ts";
import { commandWorker } from "./command-worker.ts";
import { childEnv, type CommandWorkerOptions, firstOnPath, requireScript } from "./env.ts";
import { COMMON_ARGS } from "./spawn.ts";

/** Args of the `python` worker: exactly one of `script`, `module` and `inline`, plus the common fields. */
export const PYTHON_ARGS = v.pipe(
  v.strictObject({
    /** A script file, relative to `baseDir`. */
    script: v.optional(v.pipe(v.string(), v.minLength(1))),
    /** A module run as `-m <module>`. */
    module: v.optional(v.pipe(v.string(), v.minLength(1))),
    /** Source run as `-c <inline>`; `args` become `sys.argv[1:]`. */
    inline: v.optional(v.pipe(v.string(), v.minLength(1))),
    /** The interpreter; default `python3`, or `python` when only that is on PATH. */
    interpreter: v.optional(v.pipe(v.string(), v.minLength(1))),
    ...COMMON_ARGS,
  }),
  v.check(
    (a) => [a.script, a.module, a.inline].filter((x) => x !== undefined).length === 1,
    "python: give exactly one of script, module or inline",
  ),
);

/** Parsed args of the `python` worker. */
export type PythonArgs = v.InferOutput<typeof PYTHON_ARGS>;

/** Interpreters tried, in order, when `interpreter` is not given. */
export const PYTHON_INTERPRETERS = ["python3", "python"] as const;

/**
 * The `python` worker: runs a script, a module or inline source with the interpreter found on the child's PATH.
 * @example
 * fw.register(pythonWorker());
 * await fw.insert("python", { module: "myapp.reindex", args: ["--full"], dir: "/srv/myapp" });
 */
export function pythonWorker(options: CommandWorkerOptions = {}): WorkerDefinition<PythonArgs, v.InferInput<typeof PYTHON_ARGS>> {
  return commandWorker("python", PYTHON_ARGS, options, ({ script, module, inline, interpreter, env, args = [] }, { baseDir, envAllowlist }) => {
    // Look the interpreter up where the child will, which may be a PATH the job's `env` set.
    const program = interpreter ?? firstOnPath(PYTHON_INTERPRETERS, childEnv(envAllowlist, env).PATH);
    const entry = script !== undefined ? [requireScript(baseDir, script)] : module !== undefined ? ["-m", module] : ["-c", inline ?? ""];
    return [program, ...entry, ...args];
  });
}
