/**
 * `npm run bench:idle` — what an idle flywheel costs the machine, next to its peers idle on the same machine.
 *
 *   bun bench/idle.ts [--seconds N] [--warmup N] [--only a,b] [--out file.json]
 *
 * --seconds  measured window per system (default 20).
 * --warmup   seconds between the system saying it is idle and the window opening (default 5), so start-up work
 *            and the first poll back-offs are not counted.
 * --only     system ids (or id prefixes: `flywheel` = every flywheel row), see SYSTEMS below.
 * --out      JSON results path (default bench/results/idle-<timestamp>.json; a .log beside it keeps the systems'
 *            output).
 *
 * Each system runs as its own process, one after the other (never two at once: they would wake each other's
 * cores): started on a fresh store (a temporary directory for SQLite files, its own PostgreSQL schema, its own
 * Redis queue), idle with one registered task and no jobs, warmed up, then watched from outside through Linux
 * `/proc` for the window: CPU time and voluntary context switches (wake-ups) of every thread, resident memory at
 * the end, and — for PostgreSQL systems — the same for the server backends serving its connections (polling
 * costs the database too). Then SIGTERM (SIGKILL after 5 s) and the store is removed, on failure too.
 * It prints one table with flywheel's ratio to every row and writes the JSON. Linux only. A row is skipped, with
 * the reason, when its server does not answer (this script starts neither PostgreSQL nor Redis; `bench/run.ts`
 * does) or its peer is not in bench/node_modules (`bench/run.ts` installs them).
 */
import { benchArgs } from "./lib/args.ts";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { RedisClient } from "bun";
import { VERSION } from "../src/core/version.ts";
import { IDLE_MARK, type IdleInfo, type IdleParams } from "./idle/child.ts";
import { describeMachine, pgReachable, redisPing } from "./lib/environment.ts";
import { median, runtimeName, sleep, suffix } from "./lib/harness.ts";
import { Meter, clockTicks, groupTicks, procAvailable, processTree, rssKiB, tcpPortsTo, threadCounters, type TaskCounters } from "./lib/proc.ts";
import { DEFAULT_PG_URL, pgSchema, sqliteDir } from "./lib/stores.ts";

type Store = "sqlite" | "postgres" | "redis" | "none";

interface IdleSystem {
  id: string;
  /** A script under bench/idle/, or the flywheel daemon (`serve`) on a generated config. */
  run: { script: string } | { daemon: true };
  store: Store;
  /** The peer package it loads from bench/node_modules. */
  peer?: string;
}

/** Every system, in table order. */
const SYSTEMS: IdleSystem[] = [
  { id: "flywheel-sqlite", run: { daemon: true }, store: "sqlite" },
  { id: "flywheel-pg", run: { daemon: true }, store: "postgres" },
  { id: "flywheel-library-sqlite", run: { script: "flywheel-library.ts" }, store: "sqlite" },
  { id: "graphile-worker", run: { script: "graphile-worker.ts" }, store: "postgres", peer: "graphile-worker" },
  { id: "pg-boss", run: { script: "pg-boss.ts" }, store: "postgres", peer: "pg-boss" },
  { id: "bullmq", run: { script: "bullmq.ts" }, store: "redis", peer: "bullmq" },
  { id: "bunqueue", run: { script: "bunqueue.ts" }, store: "sqlite", peer: "bunqueue" },
  { id: "bun-floor", run: { script: "bun-floor.ts" }, store: "none" },
];

/** The daemon rows' config note: the same daemon, the database and its wake-up source aside. */
function daemonNote(store: Store): string {
  const wake = store === "postgres" ? "LISTEN for wake-ups" : "WAL file watch + 1 s look for wake-ups";
  return `\`flywheel serve\`, one daily shell schedule, http_addr off; defaults: idle poll 250 ms → 2 s, ${wake}, periodic tick sleeps to the next fire (≤ 60 s), sweep 30 s`;
}

// ---- arguments -------------------------------------------------------------------------------------------

const { argv, usage, flag } = benchArgs("bench:idle", "bun bench/idle.ts [--seconds N] [--warmup N] [--only a,b] [--out file.json]", ["--seconds", "--warmup", "--only", "--out"]);

const seconds = Number(flag("--seconds") ?? 20);
const warmup = Number(flag("--warmup") ?? 5);
const only = flag("--only")?.split(",").map((s) => s.trim()).filter(Boolean);
if (!Number.isFinite(seconds) || seconds < 1) usage("--seconds must be a number ≥ 1");
if (!Number.isFinite(warmup) || warmup < 0) usage("--warmup must be a number ≥ 0");
const matches = (id: string, selector: string) => id === selector || id.startsWith(`${selector}-`);
if (only) for (const o of only) if (!SYSTEMS.some((s) => matches(s.id, o))) usage(`--only: no system ${o} (known: ${SYSTEMS.map((s) => s.id).join(", ")})`);

if (!procAvailable()) {
  console.error("bench:idle: needs Linux /proc (per-thread schedstat); nothing measured on this platform.");
  process.exit(1);
}

const stamp = new Date().toISOString().replace(/[:.]/g, "-").replace("T", "_").slice(0, 19);
const outPath = flag("--out") ?? join(import.meta.dir, "results", `idle-${stamp}.json`);
const logPath = outPath.replace(/\.json$/, "") + ".log";
const PG_URL = process.env.BENCH_PG_URL ?? DEFAULT_PG_URL;
const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const PG_PORT = Number(new URL(PG_URL).port || 5432);
const ROOT = join(import.meta.dir, "..");
const BUN = process.execPath;
/** How often the window is sampled: a thread or backend that ends loses at most this much of its count. */
const SAMPLE_MS = 1000;
const READY_TIMEOUT_MS = 60_000;
const KILL_GRACE_MS = 5_000;

// ---- environment -----------------------------------------------------------------------------------------

const started = Date.now();
const environment: Record<string, string> = {};
const unavailable = new Map<Store, string>();
let redisPid: number | null = null;

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The pid of the Redis server, when it runs where this process can read its /proc entry (not in another container). */
async function redisServerPid(): Promise<number | null> {
  const client = new RedisClient(REDIS_URL);
  try {
    const info = String(await client.send("INFO", ["server"]));
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    return Number.isFinite(pid) && threadCounters(pid).size > 0 ? pid : null;
  } catch {
    return null;
  } finally {
    client.close();
  }
}

async function checkServers(selected: IdleSystem[]): Promise<void> {
  if (selected.some((s) => s.store === "postgres")) {
    const info = await pgReachable(PG_URL);
    if (info) environment.postgres = info;
    else unavailable.set("postgres", `PostgreSQL not reachable at ${PG_URL}`);
  }
  if (selected.some((s) => s.store === "redis")) {
    const port = Number(new URL(REDIS_URL).port || 6379);
    const version = await redisPing(port);
    if (version) {
      redisPid = await redisServerPid();
      environment.redis = `Redis ${version} at ${new URL(REDIS_URL).host}${redisPid ? "" : " (its process is not visible here: no server figures)"}`;
    } else unavailable.set("redis", `Redis not reachable at ${REDIS_URL}`);
  }
}

// ---- one system ------------------------------------------------------------------------------------------

interface Figures {
  /** Scheduler run time of all its threads ÷ wall time, % of one core. */
  cpuPct: number;
  /** Voluntary context switches of all its threads per second: how often it wakes up. */
  wakeupsPerSec: number;
  /** The main thread alone, where the JavaScript event loop (and so every library timer) runs. */
  main: { cpuPct: number; wakeupsPerSec: number };
  /** Per thread name (runtime threads: GC helpers, the allocator's scavenger, I/O pools), for the JSON. */
  byThreadName: Record<string, { cpuPct: number; wakeupsPerSec: number; threads: number }>;
  /** Involuntary ones: preemptions, a function of the machine's load more than of the process. */
  preemptionsPerSec: number;
  /** Same CPU from the `utime + stime` clock ticks of the main process (whole thread group), for cross-checking. */
  ticksCpuPct: number;
  threads: number;
  processes: number;
  rssMiB: number;
  /** The server side: the PostgreSQL backends serving its connections, or the whole Redis server. */
  server?: { what: string; cpuPct: number; wakeupsPerSec: number; count: number };
  /** The whole Redis server during this window, whoever the system is (the baseline of the bullmq row's server). */
  redisServer?: { cpuPct: number; wakeupsPerSec: number };
  windowSec: number;
}

interface RowResult {
  system: IdleSystem;
  info?: IdleInfo;
  figures?: Figures;
  skipped?: string;
  error?: string;
  /** Shutdown: how long SIGTERM took, or that it needed SIGKILL. */
  stop?: string;
}

/** A store prepared for one system; `remove()` must run whatever happened. */
interface Prepared {
  params: IdleParams;
  /** Working directory of the process (the daemon's config lives there). */
  dir: string;
  remove(): Promise<void>;
}

function prepare(s: IdleSystem): Prepared {
  const removals: Array<() => void | Promise<void>> = [];
  const params: IdleParams = {};
  let dir: string;
  if (s.store === "sqlite") {
    const d = sqliteDir(`idle-${s.id}`);
    removals.push(d.remove);
    params.file = d.file;
    dir = d.path;
  } else {
    dir = mkdtempSync(join(tmpdir(), `bench-idle-${s.id}-`));
    removals.push(() => rmSync(dir, { recursive: true, force: true }));
  }
  if (s.store === "postgres") {
    const schema = pgSchema(PG_URL, `idle_${s.id.replace(/-/g, "_")}`);
    removals.push(() => schema.drop());
    params.pgUrl = PG_URL;
    params.schema = schema.name;
  }
  if (s.store === "redis") {
    const queue = `bench_idle_${suffix()}`;
    params.redisUrl = REDIS_URL;
    params.queue = queue;
    removals.push(async () => {
      const client = new RedisClient(REDIS_URL);
      try {
        const keys = (await client.send("KEYS", [`bull:${queue}:*`])) as string[];
        if (keys.length > 0) await client.send("DEL", keys);
      } finally {
        client.close();
      }
    });
  }
  return {
    params,
    dir,
    async remove() {
      for (const remove of removals.reverse()) {
        try {
          await remove();
        } catch (error) {
          progress(`bench:idle: cleanup for ${s.id} failed: ${(error as Error).message}`);
        }
      }
    },
  };
}

/** The daemon's flywheel.yaml: the database, no HTTP server, and one daily schedule (as a cron replacement has). */
function daemonConfig(p: Prepared): string {
  const db = p.params.file ? `{ sqlite: ${JSON.stringify(p.params.file)} }` : `{ postgres: ${JSON.stringify(p.params.pgUrl)}, schema: ${p.params.schema} }`;
  return [
    `db: ${db}`,
    "runtime: { http_addr: off }",
    "schedules:",
    '  - { slug: daily, cron: "0 3 * * *", worker: shell, shell: { inline: "true" } }',
    "",
  ].join("\n");
}

function command(s: IdleSystem, p: Prepared): string[] {
  if ("script" in s.run) return [BUN, join(import.meta.dir, "idle", s.run.script), JSON.stringify(p.params)];
  const config = join(p.dir, "flywheel.yaml");
  writeFileSync(config, daemonConfig(p));
  return [BUN, join(ROOT, "src", "cli", "main.ts"), "serve", "--config", config];
}

/**
 * Copies a child's output to the log and resolves with the first line that satisfies `ready` (the daemon logs
 * "node started"; a script prints its `@@IDLE@@` line). Reading continues afterwards so a chatty child never blocks
 * on a full pipe.
 */
function watchOutput(id: string, proc: Bun.Subprocess<"ignore", "pipe", "pipe">, ready: (line: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let found = false;
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      let pending = "";
      for await (const chunk of stream) {
        const text = decoder.decode(chunk, { stream: true });
        appendFileSync(logPath, text.replace(/^(?=.)/gm, `[${id}] `));
        pending += text;
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) {
          if (!found && ready(line)) {
            found = true;
            resolve(line);
          }
        }
      }
    };
    void Promise.all([pump(proc.stdout), pump(proc.stderr)]).then(async () => {
      const code = await proc.exited;
      if (!found) reject(new Error(`exited (${proc.signalCode ?? code}) before it was idle; see ${logPath}`));
    });
  });
}

/** `promise`, or a rejection with `message` after `ms`; the timer is cleared either way (a pending one would keep this process alive). */
async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Ends the child: SIGTERM, then SIGKILL if it is still there after the grace. Says which it took. */
async function terminate(proc: Bun.Subprocess): Promise<string> {
  if (proc.exitCode !== null || proc.signalCode !== null) return `had exited (${proc.signalCode ?? proc.exitCode})`;
  const t0 = performance.now();
  proc.kill("SIGTERM");
  const stopped = await within(proc.exited, KILL_GRACE_MS, "").then(
    () => true,
    () => false,
  );
  if (stopped) return `SIGTERM, exited ${proc.exitCode ?? proc.signalCode} after ${Math.round(performance.now() - t0)} ms`;
  proc.kill("SIGKILL");
  await proc.exited;
  return `SIGKILL after ${KILL_GRACE_MS / 1000} s`;
}

/** The running child and its store, for the interrupt handler. */
let current: { proc: Bun.Subprocess; prepared: Prepared } | null = null;

function prefixed(prefix: string, counters: Map<string, TaskCounters>): Map<string, TaskCounters> {
  return new Map([...counters].map(([k, v]) => [`${prefix}${k}`, v]));
}

/**
 * Samples the process tree's threads, the PostgreSQL backends behind its connections, and the Redis server.
 * Backends are found by the client ports of its sockets, looked up in pg_stat_activity once per new port.
 */
class Sampler {
  readonly meter = new Meter();
  readonly #backendByPort = new Map<number, number | null>();
  readonly #sql: postgres.Sql | null;
  readonly #root: number;
  /** The most processes its tree held at once (a daemon's job processes would show here). */
  processes = 0;

  constructor(root: number, store: Store) {
    this.#root = root;
    this.#sql = store === "postgres" ? postgres(PG_URL, { max: 1, onnotice: () => {} }) : null;
  }

  async sample(): Promise<number[]> {
    const tree = processTree(this.#root);
    this.processes = Math.max(this.processes, tree.length);
    for (const pid of tree) this.meter.observe(prefixed("proc/", threadCounters(pid)));
    if (this.#sql) {
      const ports = tcpPortsTo(tree, PG_PORT);
      const unknown = ports.filter((p) => !this.#backendByPort.has(p));
      if (unknown.length > 0) {
        const rows = await this.#sql<Array<{ pid: number; port: number }>>`
          SELECT pid, client_port AS port FROM pg_stat_activity WHERE client_port = ANY(${unknown}::int[])`;
        for (const p of unknown) this.#backendByPort.set(p, rows.find((r) => r.port === p)?.pid ?? null);
      }
      for (const port of ports) {
        const backend = this.#backendByPort.get(port);
        if (backend) this.meter.observe(prefixed("db/", threadCounters(backend)));
      }
    }
    if (redisPid) this.meter.observe(prefixed("redis/", threadCounters(redisPid)));
    return tree;
  }

  async close(): Promise<void> {
    await this.#sql?.end({ timeout: 1 });
  }
}

async function measure(s: IdleSystem): Promise<RowResult> {
  const row: RowResult = { system: s };
  const missing = s.store === "postgres" || s.store === "redis" ? unavailable.get(s.store) : undefined;
  if (missing) {
    row.skipped = missing;
    return row;
  }
  if (s.peer && !existsSync(join(import.meta.dir, "node_modules", s.peer))) {
    row.skipped = `${s.peer} not installed (npm install --prefix bench, or one \`npm run bench\`)`;
    return row;
  }
  const prepared = prepare(s);
  let proc: Bun.Subprocess<"ignore", "pipe", "pipe"> | null = null;
  let sampler: Sampler | null = null;
  try {
    appendFileSync(logPath, `--- ${s.id} ${new Date().toISOString()}\n`);
    proc = Bun.spawn(command(s, prepared), {
      cwd: prepared.dir,
      stdout: "pipe",
      stderr: "pipe",
      stdin: "ignore",
      env: { ...process.env, NODE_ENV: "production" },
    });
    current = { proc, prepared };
    const isDaemon = "daemon" in s.run;
    const line = await within(
      watchOutput(s.id, proc, (l) => (isDaemon ? l.includes("node started") : l.startsWith(IDLE_MARK))),
      READY_TIMEOUT_MS,
      `not idle within ${READY_TIMEOUT_MS / 1000} s; see ${logPath}`,
    );
    row.info = isDaemon ? { version: `flywheel ${VERSION}`, config: daemonNote(s.store) } : (JSON.parse(line.slice(IDLE_MARK.length + 1)) as IdleInfo);

    await sleep(warmup * 1000);
    sampler = new Sampler(proc.pid, s.store);
    await sampler.sample();
    sampler.meter.begin();
    const ticks0 = groupTicks(proc.pid);
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    let tree: number[] = [];
    while (performance.now() < end) {
      await sleep(Math.min(SAMPLE_MS, end - performance.now()));
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`exited (${proc.signalCode ?? proc.exitCode}) while idle; see ${logPath}`);
      tree = await sampler.sample();
    }
    const windowSec = (performance.now() - t0) / 1000;
    const ticks = groupTicks(proc.pid) - ticks0;
    const rss = tree.reduce((sum, pid) => sum + rssKiB(pid), 0);
    const own = sampler.meter.total("proc/");
    const perSec = (n: number) => n / windowSec;
    const pct = (ns: number) => (ns / 1e9 / windowSec) * 100;
    const mainKey = `proc/${proc.pid}/${proc.pid}`;
    const main = sampler.meter.total((key) => key === mainKey);
    const byThreadName: Figures["byThreadName"] = {};
    for (const name of sampler.meter.names("proc/")) {
      const t = sampler.meter.total((key, n) => key.startsWith("proc/") && n === name);
      byThreadName[name] = { cpuPct: pct(t.runNs), wakeupsPerSec: perSec(t.voluntary), threads: t.keys };
    }
    row.figures = {
      cpuPct: pct(own.runNs),
      wakeupsPerSec: perSec(own.voluntary),
      main: { cpuPct: pct(main.runNs), wakeupsPerSec: perSec(main.voluntary) },
      byThreadName,
      preemptionsPerSec: perSec(own.involuntary),
      ticksCpuPct: (ticks / clockTicks() / windowSec) * 100,
      threads: own.keys,
      processes: sampler.processes,
      rssMiB: rss / 1024,
      windowSec,
    };
    const db = sampler.meter.total("db/");
    if (s.store === "postgres" && db.keys > 0) {
      row.figures.server = { what: `${db.keys} PostgreSQL backend${db.keys === 1 ? "" : "s"}`, cpuPct: pct(db.runNs), wakeupsPerSec: perSec(db.voluntary), count: db.keys };
    }
    // Watched in every window, so the rows that are not Redis clients give its baseline for the bullmq row.
    const redis = sampler.meter.total("redis/");
    if (redis.keys > 0) {
      row.figures.redisServer = { cpuPct: pct(redis.runNs), wakeupsPerSec: perSec(redis.voluntary) };
      if (s.store === "redis") row.figures.server = { what: "redis-server (whole, shared)", ...row.figures.redisServer, count: 1 };
    }
  } catch (error) {
    row.error = (error as Error).message;
  } finally {
    if (proc) row.stop = await terminate(proc);
    await sampler?.close();
    await prepared.remove();
    current = null;
  }
  return row;
}

// ---- report ----------------------------------------------------------------------------------------------

const fixed = (v: number | undefined, digits: number) => (v === undefined || !Number.isFinite(v) ? "—" : v.toFixed(digits));
function ratio(fw: number | undefined, other: number | undefined): string {
  if (fw === undefined || other === undefined || !Number.isFinite(fw) || !Number.isFinite(other) || other <= 0) return "—";
  const r = fw / other;
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`;
}

function table(headers: string[], body: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

function report(rows: RowResult[]): string {
  const out: string[] = [];
  out.push(`flywheel idle cost — ${new Date(started).toISOString().slice(0, 16).replace("T", " ")} UTC`);
  out.push(`command: ${["npm run bench:idle --", ...argv].join(" ").replace(/ --$/, "")}`);
  for (const [k, v] of Object.entries(environment)) out.push(`${k}: ${v}`);
  out.push(
    `method: one process at a time, idle with one registered task and no jobs; ${warmup} s warm-up after it is idle, then ${seconds} s measured. ` +
      "CPU = scheduler run time of all its threads ÷ wall time (% of one core); wake-ups = voluntary context switches of all its threads per second " +
      "(main: the main thread's alone); " +
      "RSS at the end of the window. server = the PostgreSQL backends serving its connections (or the whole Redis server), measured the same way.",
  );
  out.push("");
  out.push("Systems:");
  for (const r of rows) {
    out.push(`  ${r.system.id}: ${r.info ? `${r.info.version} on ${runtimeName()}; ${r.info.config}` : (r.skipped ?? "no result")}`);
  }
  out.push("");

  const body = rows.map((r) => {
    const f = r.figures;
    if (!f) return [r.system.id, r.skipped ? `skipped: ${r.skipped}` : `failed: ${r.error ?? "?"}`, "", "", "", "", "", "", "", ""];
    return [
      r.system.id,
      fixed(f.cpuPct, 3),
      fixed(f.wakeupsPerSec, 1),
      fixed(f.main.cpuPct, 3),
      fixed(f.main.wakeupsPerSec, 1),
      fixed(f.rssMiB, 0),
      String(f.threads),
      f.server?.what ?? "",
      f.server ? fixed(f.server.cpuPct, 3) : "",
      f.server ? fixed(f.server.wakeupsPerSec, 1) : "",
    ];
  });
  out.push(`── Idle, ${seconds} s window`);
  out.push(table(["system", "CPU %", "wake-ups/s", "main CPU %", "main wake-ups/s", "RSS MiB", "threads", "server", "server CPU %", "server wake-ups/s"], body));
  out.push("main = the main thread alone, where the event loop and so every timer of the library runs; the rest is the runtime's own threads (GC, allocator, I/O).");
  const baseline = rows.filter((r) => r.system.store !== "redis" && r.figures?.redisServer).map((r) => r.figures!.redisServer!);
  if (rows.some((r) => r.system.store === "redis" && r.figures?.server) && baseline.length > 0) {
    out.push(
      `bullmq's server is the whole shared redis-server; in the other windows (no client of this benchmark) it used ` +
        `${fixed(median(baseline.map((b) => b.cpuPct)), 3)} % CPU and ${fixed(median(baseline.map((b) => b.wakeupsPerSec)), 1)} wake-ups/s (median), its own housekeeping and anyone else's use.`,
    );
  }
  out.push("");

  const fwSqlite = rows.find((r) => r.system.id === "flywheel-sqlite")?.figures;
  const fwPg = rows.find((r) => r.system.id === "flywheel-pg")?.figures;
  if (fwSqlite || fwPg) {
    out.push("── flywheel ÷ that row (< 1: the flywheel daemon costs less)");
    // Only PostgreSQL rows are compared with their backends: those are the ones their polling keeps busy.
    const total = (f: Figures | undefined) => (f ? f.cpuPct + (f.server?.cpuPct ?? 0) : undefined);
    const ratioBody = rows
      .filter((r) => r.figures)
      .map((r) => {
        const f = r.figures!;
        const cells = [r.system.id];
        if (fwSqlite) {
          const self = r.system.id === "flywheel-sqlite";
          cells.push(...(self ? ["—", "—", "—"] : [ratio(fwSqlite.cpuPct, f.cpuPct), ratio(fwSqlite.wakeupsPerSec, f.wakeupsPerSec), ratio(fwSqlite.rssMiB, f.rssMiB)]));
        }
        if (fwPg) {
          const self = r.system.id === "flywheel-pg";
          const withDb = r.system.store === "postgres" ? ratio(total(fwPg), total(f)) : "";
          cells.push(...(self ? ["—", "—", "—"] : [ratio(fwPg.cpuPct, f.cpuPct), ratio(fwPg.wakeupsPerSec, f.wakeupsPerSec), withDb]));
        }
        return cells;
      });
    const headers = ["system"];
    if (fwSqlite) headers.push("fw-sqlite CPU", "fw-sqlite wake-ups", "fw-sqlite RSS");
    if (fwPg) headers.push("fw-pg CPU", "fw-pg wake-ups", "fw-pg CPU incl. backends");
    out.push(table(headers, ratioBody));
    out.push("");
  }
  out.push(`total time ${((Date.now() - started) / 1000).toFixed(0)} s; JSON: ${outPath}`);
  return out.join("\n");
}

// ---- main ------------------------------------------------------------------------------------------------

async function interrupted(signal: string): Promise<void> {
  progress(`bench:idle: ${signal}: stopping the running system and removing its store`);
  if (current) {
    current.proc.kill("SIGKILL");
    await current.proc.exited;
    await current.prepared.remove();
  }
  process.exit(130);
}

async function main(): Promise<void> {
  process.once("SIGINT", () => void interrupted("SIGINT"));
  process.once("SIGTERM", () => void interrupted("SIGTERM"));
  const selected = SYSTEMS.filter((s) => !only || only.some((o) => matches(s.id, o)));
  mkdirSync(join(import.meta.dir, "results"), { recursive: true });
  writeFileSync(logPath, "");
  const perSystem = warmup + seconds + 3;
  progress(`bench:idle: ${selected.length} systems × ~${perSystem} s (${warmup} s warm-up + ${seconds} s window), one at a time; results → ${outPath}`);
  Object.assign(environment, await describeMachine(ROOT));
  await checkServers(selected);
  for (const [what, why] of unavailable) progress(`bench:idle: ${what} unavailable — ${why}; those rows are skipped`);

  const rows: RowResult[] = [];
  for (const s of selected) {
    const row = await measure(s);
    rows.push(row);
    const f = row.figures;
    const status = f
      ? `CPU ${fixed(f.cpuPct, 3)} %, ${fixed(f.wakeupsPerSec, 1)} wake-ups/s, RSS ${fixed(f.rssMiB, 0)} MiB${f.server ? `; server ${fixed(f.server.cpuPct, 3)} %` : ""}`
      : row.skipped
        ? `skipped: ${row.skipped}`
        : `FAILED: ${row.error}`;
    progress(`  ${s.id.padEnd(24)} ${status}${row.stop ? `  (${row.stop})` : ""}`);
  }

  const text = report(rows);
  console.log(text);
  const json = {
    startedAt: new Date(started).toISOString(),
    argv,
    environment,
    seconds,
    warmup,
    rows: rows.map((r) => ({ system: r.system.id, store: r.system.store, info: r.info, figures: r.figures, skipped: r.skipped, error: r.error, stop: r.stop })),
    table: text,
  };
  writeFileSync(outPath, `${JSON.stringify(json, null, 2)}\n`);
}

await main();
