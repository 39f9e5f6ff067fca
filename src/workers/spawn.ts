import * as v from "valibot";
import { WorkerError } from "../core/errors.ts";
import type { Job, WorkResult } from "../core/types.ts";
import { childEnv, requireDir, type ResolvedCommandOptions } from "./env.ts";
import { HeadTailBuffer } from "./head-tail-buffer.ts";
import { LineSplitter, lineForwarder, type OutputLine } from "./output-lines.ts";
import { endGroup, groupAlive, guardGroup, releaseGroup } from "./process-group.ts";

export { HeadTailBuffer } from "./head-tail-buffer.ts";

/**
 * The args every process-running worker accepts, as users write them in YAML. Spread into each worker's
 * `v.strictObject` so a typo is an error naming the key.
 */
export const COMMON_ARGS = {
  /** Arguments appended to the command. */
  args: v.optional(v.array(v.string())),
  /** Variables added on top of the allow-listed host environment. */
  env: v.optional(v.record(v.pipe(v.string(), v.regex(/^[^=\0]+$/, "env names cannot be empty or contain '='")), v.string())),
  /** Working directory; relative to the workers' `baseDir`. */
  dir: v.optional(v.pipe(v.string(), v.minLength(1))),
  /** The command's own deadline; on expiry its process group is terminated and the attempt is a `timeout`. */
  timeout_seconds: v.optional(v.pipe(v.number(), v.gtValue(0))),
  /** Exit codes that mean retrying is pointless: they discard the job instead of retrying it. */
  permanent_exit_codes: v.optional(v.array(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(255)))),
  /** Overrides the workers' `killGraceMs` for this job. */
  kill_grace_seconds: v.optional(v.pipe(v.number(), v.minValue(0))),
};

/** The parsed form of {@link COMMON_ARGS}. */
export interface CommonArgs {
  args?: string[];
  env?: Record<string, string>;
  dir?: string;
  timeout_seconds?: number;
  permanent_exit_codes?: number[];
  kill_grace_seconds?: number;
}

/** What a command run leaves in `job_runs.output`, on success and on failure alike. */
export interface CommandOutput {
  /** `null` when a signal ended the process. */
  exit_code: number | null;
  /** The signal that ended the process, e.g. `"SIGTERM"`. */
  signal: string | null;
  stdout: string;
  stderr: string;
  stdout_truncated: boolean;
  stderr_truncated: boolean;
  /** From spawn to the command's exit. */
  duration_ms: number;
  /** The argv that ran, after defaults and path resolution. */
  command: string[];
  /** The process id of the command, which is also its process group's id. */
  pid: number;
  /** Peak resident set size of the direct child, when the platform reports it. */
  max_rss_kb?: number;
  /** User plus system CPU time of the direct child, when the platform reports it. */
  cpu_ms?: number;
}

/** Why flywheel, rather than the command itself, ended a run. */
export type StopReason = { by: "timeout"; afterMs: number } | { by: "abort"; reason: unknown };

/** A process to run with {@link spawnCapture}. */
export interface SpawnSpec {
  command: readonly string[];
  cwd: string;
  /** The child's entire environment. */
  env: Record<string, string>;
  /** Cap per stream; see {@link HeadTailBuffer}. */
  maxOutputBytes: number;
  killGraceMs: number;
  /** Terminate the group after this long; no deadline when undefined. */
  timeoutMs?: number;
  /** Terminate the group when this aborts. */
  signal?: AbortSignal;
  /**
   * Called with each line of stdout and stderr as it is read (see {@link LineSplitter}), besides the capture.
   * It runs inside the pipe reader: it must not throw, and must not block.
   */
  onLine?: (line: OutputLine) => void;
}

/** The finished run: its output, and whether flywheel stopped it. */
export interface SpawnResult {
  output: CommandOutput;
  stopped: StopReason | null;
}

/** How long to keep reading pipes once the group is gone; only a process that escaped the group (setsid) still holds them. */
const STREAM_DRAIN_MS = 500;

/**
 * Runs one command in its own process group (session) and captures both streams within budget.
 *
 * Guarantees: stdin is closed; stdout and stderr are read concurrently with the exit, so a chatty child never
 * blocks on a full pipe; on `timeoutMs` or `signal`, and whenever members of the group outlive the leader, the
 * whole group gets SIGTERM, then SIGKILL after `killGraceMs`; and the group never outlives this process, however
 * it ends (see `process-group.ts`). Not guaranteed: a process that leaves the group (`setsid`, a double-forking
 * daemon) is beyond reach.
 * @throws the spawn error (e.g. `code: "ENOENT"`) when the command cannot start.
 */
export async function spawnCapture(spec: SpawnSpec): Promise<SpawnResult> {
  const started = performance.now();
  const proc = Bun.spawn([...spec.command], {
    cwd: spec.cwd,
    env: spec.env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    detached: true,
  });
  guardGroup(proc.pid, spec.killGraceMs);
  try {
    return await supervise(proc, spec, started);
  } finally {
    releaseGroup(proc.pid);
  }
}

async function supervise(proc: Bun.Subprocess<"ignore", "pipe", "pipe">, spec: SpawnSpec, started: number): Promise<SpawnResult> {
  const stdout = new HeadTailBuffer(spec.maxOutputBytes);
  const stderr = new HeadTailBuffer(spec.maxOutputBytes);
  const splitterFor = (channel: OutputLine["channel"]) => (spec.onLine ? new LineSplitter(channel, spec.onLine) : undefined);
  const pumps = [pump(proc.stdout, stdout, splitterFor("stdout")), pump(proc.stderr, stderr, splitterFor("stderr"))];

  const state: { stopped: StopReason | null; ending: Promise<void> | undefined } = { stopped: null, ending: undefined };
  const stop = (reason: StopReason) => {
    if (state.stopped) return;
    state.stopped = reason;
    state.ending = endGroup(proc.pid, spec.killGraceMs);
  };
  const timeoutMs = spec.timeoutMs;
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => stop({ by: "timeout", afterMs: timeoutMs }), timeoutMs);
  const onAbort = () => stop({ by: "abort", reason: spec.signal?.reason });
  spec.signal?.addEventListener("abort", onAbort, { once: true });
  if (spec.signal?.aborted) onAbort();

  try {
    await proc.exited;
  } finally {
    clearTimeout(timer);
    spec.signal?.removeEventListener("abort", onAbort);
  }
  const durationMs = performance.now() - started;
  // Background children outlive the leader and keep the pipes open; the job owns its whole group.
  state.ending ??= groupAlive(proc.pid) ? endGroup(proc.pid, spec.killGraceMs) : undefined;
  await state.ending;
  await drain(pumps);

  const usage = proc.resourceUsage();
  const output: CommandOutput = {
    exit_code: proc.exitCode,
    signal: proc.signalCode === null || proc.signalCode === undefined ? null : String(proc.signalCode),
    stdout: stdout.text(),
    stderr: stderr.text(),
    stdout_truncated: stdout.truncated,
    stderr_truncated: stderr.truncated,
    duration_ms: Math.round(durationMs),
    command: [...spec.command],
    pid: proc.pid,
  };
  if (usage) {
    output.max_rss_kb = Math.round(usage.maxRSS / 1024);
    output.cpu_ms = Math.round(Number(usage.cpuTime.total) / 1000);
  }
  return { output, stopped: state.stopped };
}

/**
 * Runs a command worker's job: resolves `dir`, builds the allow-listed env, spawns, and turns the result into
 * the attempt's outcome. Exit 0 returns `{ output }`; anything else throws a {@link WorkerError} carrying the
 * output, classified `permanent` (listed exit code, missing binary or directory), `timeout` (own
 * `timeout_seconds`, or a runtime abort whose reason is a TimeoutError) or `transient`.
 */
export async function runCommandJob(
  job: Job<unknown>,
  command: readonly string[],
  common: CommonArgs,
  options: ResolvedCommandOptions,
): Promise<WorkResult> {
  if (job.signal.aborted) throw abortedError(job.signal.reason);
  const cwd = requireDir(options.baseDir, common.dir);
  const env = childEnv(options.envAllowlist, common.env);
  let result: SpawnResult;
  try {
    result = await spawnCapture({
      command,
      cwd,
      env,
      maxOutputBytes: options.maxOutputBytes,
      killGraceMs: common.kill_grace_seconds === undefined ? options.killGraceMs : common.kill_grace_seconds * 1000,
      timeoutMs: common.timeout_seconds === undefined ? undefined : common.timeout_seconds * 1000,
      signal: job.signal,
      onLine: lineForwarder(job, options.onOutputLine),
    });
  } catch (error) {
    throw spawnError(command, env, error);
  }
  return outcome(result, common.permanent_exit_codes ?? []);
}

/**
 * How to classify an attempt the runtime aborted: `timeout` when the reason is a TimeoutError (the job's
 * deadline), else `transient` (cancel, drain, lost lease).
 */
function abortErrorClass(reason: unknown): "timeout" | "transient" {
  return typeof reason === "object" && reason !== null && (reason as { name?: unknown }).name === "TimeoutError" ? "timeout" : "transient";
}

/** The error for an attempt the runtime aborted; `output` is whatever was captured before. */
export function abortedError(reason: unknown, output?: unknown): WorkerError {
  const r = reason as { name?: unknown; message?: unknown } | null | undefined;
  const why = typeof r?.message === "string" ? `${String(r.name ?? "Error")}: ${r.message}` : String(reason ?? "aborted");
  return new WorkerError(`aborted (${why})`, { output, errorClass: abortErrorClass(reason), cause: reason });
}

function outcome({ output, stopped }: SpawnResult, permanentExitCodes: readonly number[]): WorkResult {
  if (stopped?.by === "timeout") {
    throw new WorkerError(`timed out after ${stopped.afterMs / 1000}s; process group terminated`, { output, errorClass: "timeout" });
  }
  if (stopped?.by === "abort") throw abortedError(stopped.reason, output);
  if (output.exit_code === 0) return { output };
  const detail = lastLine(output.stderr);
  const suffix = detail ? `: ${detail}` : "";
  if (output.exit_code === null) {
    throw new WorkerError(`killed by ${output.signal ?? "a signal"}${suffix}`, { output, errorClass: "transient" });
  }
  const errorClass = permanentExitCodes.includes(output.exit_code) ? "permanent" : "transient";
  throw new WorkerError(`exit ${output.exit_code}${suffix}`, { output, errorClass });
}

function spawnError(command: readonly string[], env: Record<string, string>, error: unknown): WorkerError {
  const code = (error as { code?: unknown } | null)?.code;
  const name = command[0] ?? "";
  const where = name.includes("/") ? name : `${JSON.stringify(name)} on PATH=${env.PATH ?? "(unset: Bun's default)"}`;
  if (code === "ENOENT") return new WorkerError(`command not found: ${where}`, { errorClass: "permanent", cause: error });
  if (code === "EACCES" || code === "ENOEXEC" || code === "ENOTDIR" || code === "EISDIR") {
    return new WorkerError(`command not executable (${code}): ${where}`, { errorClass: "permanent", cause: error });
  }
  // Resource exhaustion (EAGAIN, ENOMEM, EMFILE) can pass; let the job retry.
  const message = error instanceof Error ? error.message : String(error);
  return new WorkerError(`cannot start ${name}: ${message}`, { errorClass: "transient", cause: error });
}

function lastLine(text: string): string {
  const lines = text.split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (line) return line.length > 200 ? `${line.slice(0, 200)}…` : line;
  }
  return "";
}

interface Pump {
  done: Promise<void>;
  cancel(): void;
}

function pump(stream: ReadableStream<Uint8Array>, sink: HeadTailBuffer, lines: LineSplitter | undefined): Pump {
  const reader = stream.getReader();
  const done = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        sink.push(value);
        lines?.push(value);
      }
    } catch {
      // Cancelled by drain(), or the pipe broke: keep what was read.
    } finally {
      lines?.end();
    }
  })();
  return { done, cancel: () => void reader.cancel().catch(() => {}) };
}

async function drain(pumps: Pump[]): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, STREAM_DRAIN_MS)));
  await Promise.race([Promise.all(pumps.map((p) => p.done)), late]);
  clearTimeout(timer);
  for (const p of pumps) p.cancel();
  await Promise.all(pumps.map((p) => p.done));
}
