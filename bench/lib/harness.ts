/**
 * The one interface every benchmarked system implements, and the workloads run against it.
 *
 * A system file (`bench/systems/<name>.ts`) calls {@link runSystem} with its {@link SystemFactory}. It is
 * started by `bench/run.ts` as its own process — `bun bench/systems/<name>.ts <workload> '<json params>'` —
 * runs exactly one workload on a fresh database/schema/file, tears it down, and prints one result line
 * (`@@BENCH@@ {json}`) on stdout. Everything else (peers' own logging included) is noise the orchestrator
 * ignores, so a chatty library cannot corrupt a result.
 *
 * Workloads are written here once, so every system is measured by the same code:
 * - `enqueue-single`: `enqueue()` awaited one at a time;
 * - `enqueue-bulk`: `enqueueMany()` in batches;
 * - `drain`: a backlog pre-filled (untimed) with `enqueueMany`, then workers at concurrency c; the clock
 *   stops when the handler has run N times *and* the store reports N completions persisted;
 * - `latency`: workers idle, then one job every 20 ms; latency = handler start − enqueue call
 *   (wall-clock microseconds, comparable across processes on one machine); producer in the same process,
 *   or in another process (`produce` sub-command, attached to the same store);
 * - `scaling`: the store holds N ready jobs (filled with `fill`, fast SQL where the system allows), then
 *   claim latency (one claim at a time) and a drain of M jobs at concurrency c.
 * Workflow workloads (`workflow-drain`, `sleep-wake`, `event-resume`) live in `workflows.ts`; a system that
 * has workflows implements {@link BenchSystem.workflows} and passes them to {@link runSystem}.
 */
import { readFileSync } from "node:fs";
import { clockTicks, serverTicks, ticksSpent } from "./proc.ts";
import type { WorkflowBench } from "./workflows.ts";

/** Where a system's store lives; handed to a producer process so it can attach to the same store. */
export type Location = Record<string, unknown>;

/** What a system states about itself; printed in the report so every figure says what produced it. */
export interface SystemInfo {
  /** Library name and exact version, e.g. `graphile-worker 0.18.0`. */
  version: string;
  /** The runtime it ran under, e.g. `bun 1.4.5`. */
  runtime: string;
  /** Durability as configured, stated from the library's source (e.g. `SQLite WAL, synchronous=NORMAL`). */
  durability: string;
  /** Non-default configuration used. */
  config: string;
}

/** A job handler: the benchmark's no-op work. `args` is what was enqueued (`{ i }` or `{ i, t }`). */
export type Handler = (args: { i: number; t?: number }) => void;

/** One benchmarked system. Optional methods mark workloads the system cannot run. */
export interface BenchSystem {
  info(): SystemInfo;
  /** Creates the fresh store (file, schema, queue) and returns where it is. */
  setup(): Promise<Location>;
  /** Attaches to a store another process set up (latency producer). Defaults to unsupported. */
  attach?(location: Location): Promise<void>;
  /** Stops everything and removes the store. */
  teardown(): Promise<void>;
  enqueue(args: { i: number; t?: number }): Promise<void>;
  enqueueMany(args: Array<{ i: number }>): Promise<void>;
  /** Starts workers at concurrency `c` that call `handler` per job; resolves once they are running. */
  startWorkers(c: number, handler: Handler, opts: { latency: boolean }): Promise<() => Promise<void>>;
  /** Completions the store has persisted. */
  completed(): Promise<number>;
  /** Fills the store with `n` ready jobs as fast as the system allows (scaling). */
  fill?(n: number): Promise<void>;
  /** Claims and finalizes one job, timing only the claim round trip (ms) (scaling). */
  claimOnce?(): Promise<number>;
  /** Durable workflows, for the workflow workloads. */
  workflows?: WorkflowBench;
}

export type SystemFactory = (params: Params) => BenchSystem | Promise<BenchSystem>;

/** Parameters a workload runs with (from the orchestrator). */
export interface Params {
  /** Variant of the system (e.g. `batched`, `full`, `claim100`). */
  variant?: string;
  jobs?: number;
  batch?: number;
  concurrency?: number;
  /** Latency: number of measured jobs and the gap between them (ms). */
  count?: number;
  gapMs?: number;
  /** Latency: `same` or `other` process producer. */
  producer?: "same" | "other";
  /** Scaling: rows in the table, claims to time, jobs to drain. */
  rows?: number;
  claims?: number;
  drainJobs?: number;
  pgUrl?: string;
  redisUrl?: string;
  location?: Location;
  [key: string]: unknown;
}

/** One workload's result line. */
export interface Result {
  system: string;
  workload: string;
  variant?: string;
  ok: boolean;
  skipped?: string;
  error?: string;
  info?: SystemInfo;
  metrics: Record<string, number>;
  /** Peak resident set of this process (VmHWM), MiB. */
  peakRssMiB?: number;
  wallMs?: number;
}

export const MARK = "@@BENCH@@";

/** Registers `stop` for teardown and returns a stopper that unregisters it, then runs it. */
export function registerStop(stops: Array<() => unknown>, stop: () => Promise<unknown>): () => Promise<void> {
  stops.push(stop);
  return async () => {
    const i = stops.indexOf(stop);
    if (i >= 0) stops.splice(i, 1);
    await stop();
  };
}

/** Wall-clock milliseconds with sub-ms resolution, comparable between processes on one machine. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(values: number[]): number {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const mid = finite.length >> 1;
  return finite.length % 2 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2;
}

/** Peak RSS of this process in MiB, from `/proc/self/status` (VmHWM), else `resourceUsage().maxRSS`. */
export function peakRssMiB(): number {
  try {
    const match = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (match) return Number(match[1]) / 1024;
  } catch {
    // Not Linux: fall through.
  }
  return process.resourceUsage().maxRSS / 1024;
}

export function runtimeName(): string {
  return typeof Bun !== "undefined" ? `bun ${Bun.version}` : `node ${process.version}`;
}

/** Loads a peer package from bench/node_modules without giving the type checker a dependency on it. */
export async function loadPeer<T>(name: string): Promise<T> {
  const specifier: string = name;
  return (await import(specifier)) as T;
}

/** A peer's installed version, from its package.json. */
export function peerVersion(name: string): string {
  try {
    const path = Bun.resolveSync(`${name}/package.json`, import.meta.dir);
    return JSON.parse(readFileSync(path, "utf8")).version as string;
  } catch {
    const path = `${import.meta.dir}/../node_modules/${name}/package.json`;
    return JSON.parse(readFileSync(path, "utf8")).version as string;
  }
}

/** A short random suffix for store names. */
export function suffix(): string {
  return `${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
}

/** Resolves when `check()` is true; polls every `everyMs`; throws after `timeoutMs`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 2): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * Entry point of a system file: `bun bench/systems/x.ts <workload> '<json>'`. Runs the workload, tears down,
 * prints one `@@BENCH@@` line and exits (0 even on failure: the line carries the error).
 */
export async function runSystem(name: string, factory: SystemFactory, more: Record<string, Workload> = {}): Promise<void> {
  const [workload = "", json = "{}"] = process.argv.slice(2);
  const params = JSON.parse(json) as Params;
  const started = performance.now();
  const result: Result = { system: name, workload, variant: params.variant, ok: false, metrics: {} };
  let system: BenchSystem | null = null;
  try {
    system = await factory(params);
    result.info = system.info();
    if (workload === "produce") {
      // Latency producer in another process: attach to the store and enqueue on the clock.
      if (!system.attach) throw new Error(`${name} cannot attach from another process`);
      await system.attach(params.location ?? {});
      await produce(system, params.count ?? 200, params.gapMs ?? 20, params.warmup as number);
      result.ok = true;
    } else {
      const run = more[workload] ?? WORKLOADS[workload];
      if (!run) throw skip(`${name} has no workload ${workload}`);
      result.metrics = await run(system, params);
      result.ok = true;
    }
  } catch (error) {
    const e = error as Error & { skip?: boolean };
    if (e.skip) result.skipped = e.message;
    else result.error = (e.stack ?? String(e)).split("\n").slice(0, 6).join(" | ");
  } finally {
    if (system && workload !== "produce") {
      try {
        await system.teardown();
      } catch (error) {
        result.error ??= `teardown: ${(error as Error).message}`;
      }
    }
  }
  result.peakRssMiB = Math.round(peakRssMiB() * 10) / 10;
  result.wallMs = Math.round(performance.now() - started);
  process.stdout.write(`\n${MARK} ${JSON.stringify(result)}\n`, () => process.exit(0));
}

/** An error that marks a workload as skipped (with a reason) rather than failed. */
export function skip(reason: string): Error {
  return Object.assign(new Error(reason), { skip: true });
}

/** One workload: runs against a system (which it sets up) and returns its metrics. */
export type Workload = (system: BenchSystem, params: Params) => Promise<Record<string, number>>;

/** The workloads every system runs (a system file may wrap one, adding what only it measures). */
export const WORKLOADS: Record<string, Workload> = {
  "enqueue-single": async (s, p) => {
    await s.setup();
    const n = p.jobs ?? 2000;
    for (let i = 0; i < Math.min(50, n); i++) await s.enqueue({ i: -1 - i }); // warm up statements
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await s.enqueue({ i });
    const ms = performance.now() - t0;
    return { jobsPerSec: (n / ms) * 1000, jobs: n };
  },

  "enqueue-bulk": async (s, p) => {
    await s.setup();
    const n = p.jobs ?? 20_000;
    const batch = p.batch ?? 1000;
    await s.enqueueMany(Array.from({ length: Math.min(batch, 100) }, (_, i) => ({ i: -1 - i }))); // warm up
    const t0 = performance.now();
    for (let start = 0; start < n; start += batch) {
      await s.enqueueMany(Array.from({ length: Math.min(batch, n - start) }, (_, k) => ({ i: start + k })));
    }
    const ms = performance.now() - t0;
    return { jobsPerSec: (n / ms) * 1000, jobs: n, batch };
  },

  drain: async (s, p) => {
    await s.setup();
    const n = p.jobs ?? 20_000;
    const c = p.concurrency ?? 10;
    for (let start = 0; start < n; start += 5000) {
      await s.enqueueMany(Array.from({ length: Math.min(5000, n - start) }, (_, k) => ({ i: start + k })));
    }
    return timedDrain(s, n, c, p);
  },

  latency: async (s, p) => {
    const location = await s.setup();
    const count = p.count ?? 200;
    const gapMs = p.gapMs ?? 20;
    const warmup = 10;
    const latencies: number[] = [];
    let seen = 0;
    const stop = await s.startWorkers(p.concurrency ?? 10, (args) => {
      const now = wallNow();
      seen++;
      if (args.i >= 0 && args.t !== undefined) latencies.push(now - args.t);
    }, { latency: true });
    await sleep(300); // let workers go idle (and subscribe) before the first job
    if (p.producer === "other") {
      if (!s.attach) throw skip("no cross-process producer for this system");
      const child = Bun.spawn(
        [process.execPath, process.argv[1]!, "produce", JSON.stringify({ ...p, location, count, gapMs, warmup })],
        { stdout: "ignore", stderr: "inherit", stdin: "ignore", env: process.env },
      );
      const code = await child.exited;
      if (code !== 0) throw new Error(`producer exited ${code}`);
    } else {
      await produce(s, count, gapMs, warmup);
    }
    await until("latency jobs to start", () => seen >= count + warmup, 30_000);
    await stop();
    latencies.sort((a, b) => a - b);
    return {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      max: latencies[latencies.length - 1] ?? Number.NaN,
      jobs: latencies.length,
    };
  },

  scaling: async (s, p) => {
    if (!s.fill || !s.claimOnce) throw skip("no scaling workload for this system");
    await s.setup();
    const rows = p.rows ?? 10_000;
    const claims = p.claims ?? 200;
    const fillStarted = performance.now();
    await s.fill(rows);
    const fillMs = performance.now() - fillStarted;
    for (let i = 0; i < 20; i++) await s.claimOnce(); // warm the statement and page cache
    const times: number[] = [];
    for (let i = 0; i < claims; i++) times.push(await s.claimOnce());
    times.sort((a, b) => a - b);
    const drainJobs = Math.min(p.drainJobs ?? 5000, rows - claims - 20);
    const base = await s.completed();
    const drained = await timedDrain(s, drainJobs, p.concurrency ?? 10, p, base);
    return {
      rows,
      claimP50: percentile(times, 50),
      claimP99: percentile(times, 99),
      drainPerSec: drained.jobsPerSec!,
      drainJobs: drained.jobs!,
      fillSec: fillMs / 1000,
      drainStartupMs: drained.startupMs!,
      persistLagMs: drained.persistLagMs!,
    };
  },
};

/** Produces `count` jobs `gapMs` apart (after `warmup` unmeasured ones), each carrying its enqueue time. */
async function produce(s: BenchSystem, count: number, gapMs: number, warmup = 10): Promise<void> {
  for (let i = 0; i < warmup; i++) {
    await s.enqueue({ i: -1 - i, t: wallNow() });
    await sleep(gapMs);
  }
  let next = performance.now();
  for (let i = 0; i < count; i++) {
    await s.enqueue({ i, t: wallNow() });
    next += gapMs;
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait);
  }
}

/**
 * Runs workers over `n` ready jobs and times it: from starting the workers until the handler ran `n` times
 * and the store reports `base + n` completions persisted (so a system that acknowledges lazily pays for it).
 */
export async function timedDrain(s: BenchSystem, n: number, c: number, p: Params, base = 0): Promise<Record<string, number>> {
  const drained = await timedUntilPersisted({
    items: n,
    start: (onItem) => s.startWorkers(c, onItem, { latency: false }),
    persisted: async () => (await s.completed()) - base,
    target: n,
    timeoutMs: ((p.timeoutSec as number | undefined) ?? 600) * 1000,
  });
  // CPU of this process over the timed window (all its threads), per 1,000 jobs: on a shared machine it moves
  // far less than the wall-clock rate does.
  return {
    jobsPerSec: drained.perSec,
    jobs: drained.persisted,
    concurrency: c,
    startupMs: drained.startupMs,
    persistLagMs: drained.persistLagMs,
    cpuMsPerKJob: (drained.cpuMs / drained.persisted) * 1000,
    // The database server's CPU over the same window when it runs on this machine (0 for embedded stores).
    serverCpuMsPerKJob: (drained.serverCpuMs / drained.persisted) * 1000,
  };
}

/**
 * The clock every drain uses: from calling `start` until `onItem` was called `items` times and `persisted()`
 * reports at least `target`. Workers may run past the target before the poll notices (scaling leaves a
 * backlog), so the rate counts what was persisted.
 */
export async function timedUntilPersisted(o: {
  items: number;
  start(onItem: () => void): Promise<() => Promise<void>>;
  persisted(): Promise<number>;
  target: number;
  timeoutMs: number;
}): Promise<{ perSec: number; persisted: number; ms: number; startupMs: number; persistLagMs: number; cpuMs: number; serverCpuMs: number }> {
  let handled = 0;
  let firstAt = 0;
  const server0 = serverTicks();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const stop = await o.start(() => {
    if (handled++ === 0) firstAt = performance.now();
  });
  await until("all items to be handled", () => handled >= o.items, o.timeoutMs, 1);
  const handledAt = performance.now();
  let persisted = 0;
  await until("all completions to be persisted", async () => (persisted = await o.persisted()) >= o.target, 60_000, 1);
  const t1 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const serverCpuMs = (ticksSpent(server0, serverTicks()) / clockTicks()) * 1000;
  await stop();
  return { perSec: (persisted / (t1 - t0)) * 1000, persisted, ms: t1 - t0, startupMs: firstAt - t0, persistLagMs: t1 - handledAt, cpuMs: (cpu.user + cpu.system) / 1000, serverCpuMs };
}
