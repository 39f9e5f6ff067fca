import * as v from "valibot";
import type { WorkerDefinition } from "../core/types.ts";
import { type CommandWorkerOptions, firstOnPath } from "./env.ts";
import { EXEC_ARGS, execWorker } from "./exec.ts";
import { HTTP_ARGS, httpWorker } from "./http.ts";
import { MAGE_ARGS, MAGE_BINARIES, mageWorker } from "./mage.ts";
import { PYTHON_ARGS, PYTHON_INTERPRETERS, pythonWorker } from "./python.ts";
import { COMMAND_WORKER_DEFAULTS } from "../core/defaults.ts";
import { SHELL_ARGS, shellWorker } from "./shell.ts";

export { type CommandWorkerOptions } from "./env.ts";
export { COMMAND_WORKER_DEFAULTS } from "../core/defaults.ts";
export { EXEC_ARGS, type ExecArgs, execWorker } from "./exec.ts";
export { HTTP_ARGS, type HttpArgs, type HttpOutput, httpWorker } from "./http.ts";
export { MAGE_ARGS, type MageArgs, mageWorker } from "./mage.ts";
export { PYTHON_ARGS, type PythonArgs, pythonWorker } from "./python.ts";
export { SHELL_ARGS, type ShellArgs, shellWorker } from "./shell.ts";
export { LineSplitter, OUTPUT_LINE_MAX_BYTES, type OutputChannel, type OutputLine } from "./output-lines.ts";
export { type CommandOutput, HeadTailBuffer, spawnCapture, type SpawnResult, type SpawnSpec } from "./spawn.ts";

/** The kinds of the ready-made command workers. */
export const COMMAND_KINDS = ["exec", "shell", "python", "mage", "http"] as const;

/** One of {@link COMMAND_KINDS}. */
export type CommandKind = (typeof COMMAND_KINDS)[number];

const SCHEMAS: Record<CommandKind, v.GenericSchema> = {
  exec: EXEC_ARGS,
  shell: SHELL_ARGS,
  python: PYTHON_ARGS,
  mage: MAGE_ARGS,
  http: HTTP_ARGS,
};

/** Whether `kind` names a ready-made command worker. */
export function isCommandKind(kind: string): kind is CommandKind {
  return (COMMAND_KINDS as readonly string[]).includes(kind);
}

/**
 * Every ready-made command worker (`exec`, `shell`, `python`, `mage`, `http`), sharing one set of options.
 * @example
 * for (const worker of commandWorkers({ envAllowlist: ["PATH", "HOME"], baseDir: configDir })) fw.register(worker);
 */
export function commandWorkers(options: CommandWorkerOptions = {}): WorkerDefinition[] {
  return [execWorker(options), shellWorker(options), pythonWorker(options), mageWorker(options), httpWorker(options)];
}

/**
 * The binaries a job of `kind` with `args` needs on PATH, for `flywheel doctor`. Where a default has a fallback
 * (python3 → python, magex → mage) it is the first one found on the host PATH, else the preferred one.
 * Tolerates invalid args (reports what it can); `http` and unknown kinds need nothing.
 * @example commandRequirements("shell", { inline: "echo hi", shell: "bash" }) // ["bash"]
 */
export function commandRequirements(kind: string, args: unknown): string[] {
  const a = typeof args === "object" && args !== null ? (args as Record<string, unknown>) : {};
  const given = (key: string) => (typeof a[key] === "string" && a[key] !== "" ? (a[key] as string) : undefined);
  switch (kind) {
    case "exec": {
      const command = given("command");
      return command ? [command] : [];
    }
    case "shell":
      return [given("shell") ?? COMMAND_WORKER_DEFAULTS.shell];
    case "python":
      return [given("interpreter") ?? firstOnPath(PYTHON_INTERPRETERS)];
    case "mage":
      return [given("binary") ?? firstOnPath(MAGE_BINARIES)];
    default:
      return [];
  }
}

/**
 * Checks args against the schema of a command worker kind, for the config loader: each issue has the dotted
 * key path (`""` for the whole object, e.g. "give exactly one of script or inline") and a message.
 * An unknown kind is one issue.
 * @example validateCommandArgs("shell", { scrpt: "x.sh" }) // [{ path: "scrpt", message: "Invalid key: …" }, …]
 */
export function validateCommandArgs(kind: string, args: unknown): { path: string; message: string }[] {
  if (!isCommandKind(kind)) return [{ path: "", message: `unknown command worker kind ${JSON.stringify(kind)}; expected one of ${COMMAND_KINDS.join(", ")}` }];
  const result = v.safeParse(SCHEMAS[kind], args);
  if (result.success) return [];
  return result.issues.map((issue) => ({ path: v.getDotPath(issue) ?? "", message: issue.message }));
}
