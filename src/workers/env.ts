import { statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { COMMAND_WORKER_DEFAULTS } from "../core/defaults.ts";
import { ValidationError, WorkerError } from "../core/errors.ts";
import type { Job } from "../core/types.ts";
import type { OutputLine } from "./output-lines.ts";

/**
 * Options shared by the ready-made command workers. `{}` means: the child sees only PATH, HOME, SHELL, LANG,
 * TMPDIR and USER from the host; stdout, stderr and HTTP bodies are each capped at 64 KiB; a terminated
 * process group gets 5 s between SIGTERM and SIGKILL; relative paths resolve against the current directory;
 * output lines go nowhere but the capture.
 */
export interface CommandWorkerOptions {
  /** Host environment variables the child inherits; everything else is hidden. */
  envAllowlist?: readonly string[];
  /** Bytes kept per stream (stdout, stderr, HTTP body); longer output keeps its head and tail. */
  maxOutputBytes?: number;
  /** Milliseconds between SIGTERM and SIGKILL when a process group is terminated. */
  killGraceMs?: number;
  /** Directory that relative `dir`, `script` and `command` paths resolve against (usually the config file's). */
  baseDir?: string;
  /**
   * Called with each line a process-running worker's command writes to stdout or stderr, as it is read (not
   * when the command ends), with the job that ran it. The capture into the run's output is unchanged. The
   * daemon forwards these lines to its log when `log.job_output` is on. Calls must not block; a callback that
   * throws is reported once per job on `job.logger` and not called again for that job.
   */
  onOutputLine?: (job: Job<unknown>, line: OutputLine) => void;
}

/** {@link CommandWorkerOptions} with every default filled in; `onOutputLine` is null when not given. */
export type ResolvedCommandOptions = Required<Omit<CommandWorkerOptions, "onOutputLine">> & {
  onOutputLine: NonNullable<CommandWorkerOptions["onOutputLine"]> | null;
};

/**
 * Fills in the defaults of {@link CommandWorkerOptions}; the one place they are applied.
 * @throws ValidationError (code `validation`) when a number option is negative or not finite.
 */
export function resolveCommandOptions(options: CommandWorkerOptions = {}): ResolvedCommandOptions {
  const maxOutputBytes = options.maxOutputBytes ?? COMMAND_WORKER_DEFAULTS.maxOutputBytes;
  const killGraceMs = options.killGraceMs ?? COMMAND_WORKER_DEFAULTS.killGraceMs;
  for (const [name, value] of [["maxOutputBytes", maxOutputBytes], ["killGraceMs", killGraceMs]] as const) {
    if (!Number.isFinite(value) || value < 0) throw new ValidationError(`flywheel: ${name} must be a non-negative number, got ${value}`, name);
  }
  return {
    envAllowlist: [...(options.envAllowlist ?? COMMAND_WORKER_DEFAULTS.envAllowlist)],
    maxOutputBytes: Math.floor(maxOutputBytes),
    killGraceMs,
    baseDir: resolve(options.baseDir ?? process.cwd()),
    onOutputLine: options.onOutputLine ?? null,
  };
}

/**
 * The child's whole environment: the allow-listed host variables that are set, then `extra` on top.
 * Nothing else leaks from the daemon (database URLs, tokens) into job processes.
 */
export function childEnv(
  allowlist: readonly string[],
  extra: Readonly<Record<string, string>> = {},
  host: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of allowlist) {
    const value = host[name];
    if (value !== undefined) env[name] = value;
  }
  return Object.assign(env, extra);
}

/**
 * The first of `candidates` found on `path`, else the first candidate (so the error that follows names the
 * preferred binary). `path` defaults to the host PATH.
 */
export function firstOnPath(candidates: readonly [string, ...string[]], path: string | undefined = process.env.PATH): string {
  for (const name of candidates) {
    if (Bun.which(name, { PATH: path ?? "" })) return name;
  }
  return candidates[0];
}

/** Resolves `path` against `baseDir` unless it is absolute. */
export function resolveFrom(baseDir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/**
 * Resolves a script path and checks that it is a file, so a typo fails the job permanently with the path in
 * the message instead of as an interpreter's exit code that would be retried.
 * @throws WorkerError (`permanent`) when the file does not exist.
 */
export function requireScript(baseDir: string, script: string): string {
  const path = resolveFrom(baseDir, script);
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) {
    throw new WorkerError(`script not found: ${path}`, { errorClass: "permanent" });
  }
  return path;
}

/**
 * Resolves the working directory and checks that it exists; posix_spawn would report a missing one as the
 * command being missing.
 * @throws WorkerError (`permanent`) when it is not a directory.
 */
export function requireDir(baseDir: string, dir: string | undefined): string {
  const path = resolveFrom(baseDir, dir ?? ".");
  if (!statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
    throw new WorkerError(`working directory not found: ${path}`, { errorClass: "permanent" });
  }
  return path;
}
