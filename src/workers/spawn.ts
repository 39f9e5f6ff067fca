import { readdirSync, readFileSync } from "node:fs";
import * as v from "valibot";
import { WorkerError } from "../core/errors.ts";
import type { Job, WorkResult } from "../core/types.ts";
import { childEnv, requireDir, type ResolvedCommandOptions } from "./env.ts";

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
}

/** The finished run: its output, and whether flywheel stopped it. */
export interface SpawnResult {
  output: CommandOutput;
  stopped: StopReason | null;
}

/** How long to keep reading pipes once the group is gone; only a process that escaped the group (setsid) still holds them. */
const STREAM_DRAIN_MS = 500;
/** How long SIGKILLed processes get to disappear before we stop watching. */
const KILL_SETTLE_MS = 1_000;

/**
 * Keeps the first and last bytes of a stream within a fixed budget: memory stays bounded however much the
 * process writes, and the report shows both how it started and how it ended.
 */
export class HeadTailBuffer {
  readonly #headCap: number;
  readonly #tailCap: number;
  readonly #head: Uint8Array[] = [];
  #headLen = 0;
  // Ring buffer, allocated on first overflow so quiet commands cost nothing.
  #ring: Uint8Array | undefined;
  #ringEnd = 0;
  #ringLen = 0;
  #total = 0;

  /** @param maxBytes bytes kept in all: half for the head, the rest for the tail. */
  constructor(maxBytes: number) {
    this.#headCap = Math.floor(maxBytes / 2);
    this.#tailCap = maxBytes - this.#headCap;
  }

  /** Bytes seen, kept or not. */
  get totalBytes(): number {
    return this.#total;
  }

  /** Whether bytes were dropped between head and tail. */
  get truncated(): boolean {
    return this.#total > this.#headCap + this.#tailCap;
  }

  /** Appends a chunk; bytes beyond the budget overwrite the oldest tail bytes. */
  push(chunk: Uint8Array): void {
    this.#total += chunk.byteLength;
    const take = Math.min(this.#headCap - this.#headLen, chunk.byteLength);
    if (take > 0) {
      this.#head.push(chunk.slice(0, take));
      this.#headLen += take;
      chunk = chunk.subarray(take);
    }
    if (chunk.byteLength === 0 || this.#tailCap === 0) return;
    const ring = (this.#ring ??= new Uint8Array(this.#tailCap));
    const cap = this.#tailCap;
    if (chunk.byteLength >= cap) {
      ring.set(chunk.subarray(chunk.byteLength - cap));
      this.#ringEnd = 0;
      this.#ringLen = cap;
      return;
    }
    const first = Math.min(chunk.byteLength, cap - this.#ringEnd);
    ring.set(chunk.subarray(0, first), this.#ringEnd);
    ring.set(chunk.subarray(first), 0);
    this.#ringEnd = (this.#ringEnd + chunk.byteLength) % cap;
    this.#ringLen = Math.min(cap, this.#ringLen + chunk.byteLength);
  }

  /** The kept bytes as UTF-8, with a marker saying how many bytes were left out when truncated. */
  text(): string {
    const decoder = new TextDecoder();
    const head = Buffer.concat(this.#head);
    const ring = this.#ring;
    let tail: Uint8Array = new Uint8Array(0);
    if (ring) {
      // Until the ring first fills, it holds its bytes in order from index 0.
      tail = this.#ringLen < this.#tailCap ? ring.subarray(0, this.#ringLen) : Buffer.concat([ring.subarray(this.#ringEnd), ring.subarray(0, this.#ringEnd)]);
    }
    // Decode in one piece when nothing was dropped, so a character split across head and tail survives.
    if (!this.truncated) return decoder.decode(Buffer.concat([head, tail]));
    const omitted = this.#total - this.#headLen - this.#ringLen;
    return `${decoder.decode(head)}\n[flywheel: ${omitted} bytes omitted]\n${decoder.decode(tail)}`;
  }
}

/**
 * Runs one command in its own process group (session) and captures both streams within budget.
 *
 * Guarantees: stdin is closed; stdout and stderr are read concurrently with the exit, so a chatty child never
 * blocks on a full pipe; on `timeoutMs` or `signal`, and whenever members of the group outlive the leader, the
 * whole group gets SIGTERM, then SIGKILL after `killGraceMs`. Not guaranteed: a process that leaves the group
 * (`setsid`, a double-forking daemon) is beyond reach.
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
  trackGroup(proc.pid);
  try {
    return await supervise(proc, spec, started);
  } finally {
    liveGroups.delete(proc.pid);
  }
}

/** Process groups this process started and has not yet seen end. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

// Detached groups survive their parent by design; a daemon that exits without draining (a second SIGTERM,
// a crash) must not leave its jobs' processes running, so the last thing it does is kill them.
function trackGroup(pgid: number): void {
  liveGroups.add(pgid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const group of liveGroups) signalGroup(group, "SIGKILL");
  });
}

async function supervise(proc: Bun.Subprocess<"ignore", "pipe", "pipe">, spec: SpawnSpec, started: number): Promise<SpawnResult> {
  const stdout = new HeadTailBuffer(spec.maxOutputBytes);
  const stderr = new HeadTailBuffer(spec.maxOutputBytes);
  const pumps = [pump(proc.stdout, stdout), pump(proc.stderr, stderr)];

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

function pump(stream: ReadableStream<Uint8Array>, sink: HeadTailBuffer): Pump {
  const reader = stream.getReader();
  const done = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        sink.push(value);
      }
    } catch {
      // Cancelled by drain(), or the pipe broke: keep what was read.
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

async function endGroup(pgid: number, graceMs: number): Promise<void> {
  signalGroup(pgid, "SIGTERM");
  if (await waitGroupGone(pgid, graceMs)) return;
  signalGroup(pgid, "SIGKILL");
  await waitGroupGone(pgid, KILL_SETTLE_MS);
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

// Non-children cannot be awaited, so poll, backing off to keep /proc scans cheap during long graces.
async function waitGroupGone(pgid: number, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  let pause = 5;
  for (;;) {
    if (!groupAlive(pgid)) return true;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    await Bun.sleep(Math.min(pause, left));
    pause = Math.min(pause * 2, 100);
  }
}

/** Whether any live (non-zombie) process remains in the group. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    // ESRCH: gone. EPERM: the id now belongs to someone else's group, so nothing of ours is left to signal.
    return false;
  }
  return process.platform === "linux" ? hasLiveMember(pgid) : true;
}

// Orphans are reparented to PID 1, and in containers PID 1 often never reaps them: zombies keep the group id
// alive for kill(-pgid, 0) although nothing runs. /proc tells the living from the dead.
function hasLiveMember(pgid: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return true;
  }
  for (const entry of entries) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "latin1");
    } catch {
      continue;
    }
    // "pid (comm) state ppid pgrp …"; comm may itself contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") return true;
  }
  return false;
}
