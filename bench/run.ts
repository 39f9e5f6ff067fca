/**
 * `npm run bench` — flywheel and its peers side by side, each system in its own process.
 *
 *   bun bench/run.ts [--quick] [--only a,b] [--workloads w,…] [--jobs N] [--reps N] [--out file.json]
 *
 * --quick      smaller sizes, one repetition, 100 latency samples, scaling to 100k rows, and none of the
 *              full-only variant rows (other durability modes, ANALYZE) unless --only names them (under 3 minutes);
 *              without it: larger sizes, median of 3 repetitions, scaling to 1M rows (under 20 minutes).
 * --only       system ids (or id prefixes: `raw` = every raw floor), see SYSTEMS below.
 * --workloads  enqueue-single, enqueue-bulk, drain, latency-same, latency-other, scaling, and the workflow
 *              workloads workflow-drain, sleep-wake, event-resume (flywheel on both drivers, DBOS on PostgreSQL).
 * --jobs N     drain backlog size (default 10,000 quick / 20,000 full).
 * --reps N     repetitions per figure (median reported).
 * --out        JSON results path (default bench/results/<timestamp>.json; a .log beside it keeps stderr).
 *
 * It installs the peers into bench/node_modules on first use, starts or reuses PostgreSQL, reuses Redis when
 * it answers (and starts a private fsync-always Redis for the `bullmq-aof` row when `redis-server` exists),
 * prints one table per workload with flywheel's ratio to every other row, and writes the JSON.
 * (Over 400 lines: it is the one script that orders the whole run; the workloads, the formatting and the
 * workflow tables live in bench/lib/.)
 */
import { benchArgs } from "./lib/args.ts";
import { existsSync, mkdirSync, readdirSync, readFileSync, appendFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { MARK, median, type Params, type Result, type SystemInfo } from "./lib/harness.ts";
import { DEFAULT_PG_URL } from "./lib/stores.ts";
import { describeMachine, pgReachable, redisPing } from "./lib/environment.ts";
import { int, ms, ratio, table } from "./lib/table.ts";
import { workflowTables, workflowTargetLines, type WorkflowRow, type WorkflowWorkload } from "./lib/workflow-report.ts";
import { DRAIN_STEPS } from "./lib/workflows.ts";

type Dialect = "sqlite" | "postgres";
type WorkloadId = "enqueue-single" | "enqueue-bulk" | "drain" | "latency-same" | "latency-other" | "scaling" | WorkflowWorkload;

interface SystemDef {
  id: string;
  label: string;
  file: string;
  params: Params;
  dialect: Dialect;
  /** Which flywheel row its ratios are taken against (flywheel rows themselves: null). */
  needs?: "postgres" | "redis" | "redis-aof";
  workloads: WorkloadId[];
  /** Printed after the label: why this row is not at equal durability, or what it is. */
  note?: string;
  /** A variant no target is measured on (other durability modes, duplicated rows): full mode only, or named with --only. */
  fullOnly?: true;
}

const MAIN: WorkloadId[] = ["enqueue-single", "enqueue-bulk", "drain", "latency-same", "latency-other"];
const THROUGHPUT: WorkloadId[] = ["enqueue-single", "enqueue-bulk", "drain"];
const WORKFLOWS: WorkflowWorkload[] = ["workflow-drain", "sleep-wake", "event-resume"];

/** Every system, in table order. The first row of each dialect is the flywheel default the ratios use. */
const SYSTEMS: SystemDef[] = [
  { id: "flywheel-sqlite", label: "flywheel (sqlite)", file: "flywheel.ts", params: { dialect: "sqlite" }, dialect: "sqlite", workloads: [...MAIN, ...WORKFLOWS, "scaling"] },
  { id: "flywheel-sqlite-full", label: "flywheel synchronous=FULL", file: "flywheel.ts", params: { dialect: "sqlite", variant: "full" }, dialect: "sqlite", workloads: THROUGHPUT, note: "opt-in, stricter", fullOnly: true },
  { id: "flywheel-sqlite-prefetch", label: "flywheel prefetch 100", file: "flywheel.ts", params: { dialect: "sqlite", prefetch: 100 }, dialect: "sqlite", workloads: ["drain"], note: "opt-in: claims up to 100 ahead" },
  { id: "flywheel-sqlite-analyzed", label: "flywheel after ANALYZE", file: "flywheel.ts", params: { dialect: "sqlite", analyze: true }, dialect: "sqlite", workloads: ["scaling"], note: "sqlite_stat1 present", fullOnly: true },
  { id: "plainjob", label: "plainjob", file: "plainjob.ts", params: {}, dialect: "sqlite", workloads: MAIN },
  { id: "bunqueue", label: "bunqueue durable adds", file: "bunqueue.ts", params: { variant: "durable" }, dialect: "sqlite", workloads: ["enqueue-single", "enqueue-bulk", "drain", "latency-same"] },
  // Buffering changes how adds are written, not how workers drain a pre-filled backlog: enqueue rows only.
  { id: "bunqueue-buffered", label: "bunqueue default (buffered)", file: "bunqueue.ts", params: { variant: "buffered" }, dialect: "sqlite", workloads: ["enqueue-single", "enqueue-bulk"], note: "weaker: adds buffered ≤10 ms", fullOnly: true },
  { id: "raw-sqlite", label: "raw SQL floor, claim 1", file: "raw-sqlite.ts", params: { variant: "claim1" }, dialect: "sqlite", workloads: [...MAIN, "scaling"] },
  { id: "raw-sqlite-100", label: "raw SQL floor, claim 100", file: "raw-sqlite.ts", params: { variant: "claim100" }, dialect: "sqlite", workloads: ["drain"] },

  { id: "flywheel-pg", label: "flywheel (postgres)", file: "flywheel.ts", params: { dialect: "postgres" }, dialect: "postgres", needs: "postgres", workloads: [...MAIN, ...WORKFLOWS, "scaling"] },
  { id: "flywheel-pg-async", label: "flywheel synchronous_commit=off", file: "flywheel.ts", params: { dialect: "postgres", variant: "async" }, dialect: "postgres", needs: "postgres", workloads: THROUGHPUT, note: "opt-in, weaker", fullOnly: true },
  { id: "flywheel-pg-prefetch", label: "flywheel prefetch 100", file: "flywheel.ts", params: { dialect: "postgres", prefetch: 100 }, dialect: "postgres", needs: "postgres", workloads: ["drain"], note: "opt-in: claims up to 100 ahead" },
  { id: "graphile-worker", label: "graphile-worker", file: "graphile-worker.ts", params: { variant: "default" }, dialect: "postgres", needs: "postgres", workloads: MAIN },
  { id: "graphile-worker-batched", label: "graphile-worker batched", file: "graphile-worker.ts", params: { variant: "batched" }, dialect: "postgres", needs: "postgres", workloads: ["drain", "latency-same"] },
  { id: "pg-boss", label: "pg-boss", file: "pg-boss.ts", params: {}, dialect: "postgres", needs: "postgres", workloads: MAIN },
  { id: "bullmq", label: "BullMQ (Redis as found)", file: "bullmq.ts", params: {}, dialect: "postgres", needs: "redis", workloads: MAIN, note: "durability differs, see legend" },
  { id: "bullmq-aof", label: "BullMQ (Redis AOF always)", file: "bullmq.ts", params: { variant: "aof" }, dialect: "postgres", needs: "redis-aof", workloads: THROUGHPUT },
  { id: "raw-pg", label: "raw SQL floor, claim 1", file: "raw-pg.ts", params: { variant: "claim1" }, dialect: "postgres", needs: "postgres", workloads: [...MAIN, "scaling"] },
  { id: "raw-pg-100", label: "raw SQL floor, claim 100", file: "raw-pg.ts", params: { variant: "claim100" }, dialect: "postgres", needs: "postgres", workloads: ["drain"] },
  { id: "dbos", label: "DBOS Transact", file: "dbos.ts", params: {}, dialect: "postgres", needs: "postgres", workloads: WORKFLOWS, note: "queue polled every 10 ms" },
];

const BASELINE: Record<Dialect, string> = { sqlite: "flywheel-sqlite", postgres: "flywheel-pg" };

// ---- arguments -------------------------------------------------------------------------------------------

const { argv, usage, flag } = benchArgs("bench", "bun bench/run.ts [--quick] [--only a,b] [--workloads w,…] [--jobs N] [--reps N] [--out file.json]", ["--quick", "--only", "--workloads", "--jobs", "--reps", "--out"]);

const quick = argv.includes("--quick");
const only = flag("--only")?.split(",").map((s) => s.trim()).filter(Boolean);
const workloadFilter = flag("--workloads")?.split(",").map((s) => s.trim()) as WorkloadId[] | undefined;
// The full mode keeps the issue's 20,000-job drain and three repetitions inside 20 minutes on 2 cores, where the
// slowest peers (pg-boss, bunqueue) drain at 1-2k jobs/s; the quick mode drains 10,000 to stay under 3 minutes.
const drainJobs = Number(flag("--jobs") ?? (quick ? 10_000 : 20_000));
const reps = Number(flag("--reps") ?? (quick ? 1 : 3));
const stamp = new Date().toISOString().replace(/[:.]/g, "-").replace("T", "_").slice(0, 19);
const outPath = flag("--out") ?? join(import.meta.dir, "results", `${stamp}.json`);
const logPath = outPath.replace(/\.json$/, "") + ".log";
if (!Number.isFinite(drainJobs) || drainJobs < 100) usage("--jobs must be a number ≥ 100");
if (!Number.isInteger(reps) || reps < 1) usage("--reps must be a positive integer");
if (only) for (const o of only) if (!SYSTEMS.some((s) => matches(s.id, o))) usage(`--only: no system ${o} (known: ${SYSTEMS.map((s) => s.id).join(", ")})`);

function matches(id: string, selector: string): boolean {
  return id === selector || id.startsWith(`${selector}-`);
}

const SIZES = {
  single: quick ? 2_000 : 5_000,
  bulk: quick ? 20_000 : 100_000,
  batch: 1_000,
  // Quick mode samples half as many starts (same 20 ms spacing) to stay under 3 minutes; full mode takes 200.
  latencyCount: quick ? 100 : 200,
  gapMs: 20,
  scalingRows: quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000],
  claims: 200,
  scalingDrain: quick ? 3_000 : 5_000,
  // Workflow runs drained (after as many plain jobs), by dialect. SQLite drains a 1,000-run backlog in a fraction
  // of a second, too short to tell a step from noise; on PostgreSQL the slowest row (DBOS, ~150-250 runs/s and
  // one awaited insert per enqueued run) sets the size that keeps quick mode under 3 minutes and full under 20.
  workflowRuns: { sqlite: quick ? 5_000 : 10_000, postgres: quick ? 1_000 : 2_000 } satisfies Record<Dialect, number>,
  sleepMs: 50,
};

const PG_URL = process.env.BENCH_PG_URL ?? DEFAULT_PG_URL;
const BUN = process.execPath;
const ROOT = join(import.meta.dir, "..");

// ---- environment -----------------------------------------------------------------------------------------

const started = Date.now();
mkdirSync(join(import.meta.dir, "results"), { recursive: true });
writeFileSync(logPath, "");
const cleanups: Array<() => void | Promise<void>> = [];
const spawnedPids: number[] = [];
const environment: Record<string, string> = {};
const unavailable = new Map<string, string>();

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function ensurePeers(): Promise<void> {
  const peers = Object.keys((JSON.parse(readFileSync(join(import.meta.dir, "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies);
  if (peers.every((name) => existsSync(join(import.meta.dir, "node_modules", name, "package.json")))) return;
  progress("bench: installing peers into bench/node_modules (npm install --prefix bench) …");
  const proc = Bun.spawn(["npm", "install", "--prefix", "bench", "--no-audit", "--no-fund"], { cwd: ROOT, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  appendFileSync(logPath, `npm install:\n${out}\n${err}\n`);
  if (code !== 0) progress(`bench: npm install failed (exit ${code}); peers will be reported as skipped. See ${logPath}`);
}

async function ensurePostgres(): Promise<void> {
  let info = await pgReachable(PG_URL);
  if (!info && existsSync("/etc/postgresql")) {
    for (const version of readdirSync("/etc/postgresql")) {
      progress(`bench: PostgreSQL not answering; starting cluster ${version}/main …`);
      const proc = Bun.spawn(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], { stdout: "ignore", stderr: "pipe", stdin: "ignore" });
      await proc.exited;
    }
    for (let i = 0; i < 20 && !info; i++) {
      await Bun.sleep(500);
      info = await pgReachable(PG_URL);
    }
  }
  if (info) environment.postgres = info;
  else unavailable.set("postgres", `PostgreSQL not reachable at ${PG_URL}`);
}

async function startRedis(args: string[]): Promise<number | null> {
  if (!Bun.which("redis-server")) return null;
  const port = 6390 + Math.floor(Math.random() * 500);
  const dir = mkdtempSync(join(tmpdir(), "bench-redis-"));
  const proc = Bun.spawn(["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", ...args], {
    stdout: "ignore",
    stderr: "ignore",
    stdin: "ignore",
  });
  cleanups.push(async () => {
    proc.kill("SIGTERM");
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < 40; i++) {
    if (await redisPing(port)) return port;
    await Bun.sleep(100);
  }
  return null;
}

const redisUrls: Partial<Record<"redis" | "redis-aof", string>> = {};
async function ensureRedis(needAof: boolean): Promise<void> {
  const version = await redisPing(6379);
  if (version) {
    redisUrls.redis = "redis://127.0.0.1:6379";
    environment.redis = `Redis ${version} at 127.0.0.1:6379 (reused)`;
  } else {
    const port = await startRedis(["--appendonly", "no"]);
    if (port) {
      redisUrls.redis = `redis://127.0.0.1:${port}`;
      environment.redis = `Redis ${(await redisPing(port)) ?? "?"} started by the benchmark, no persistence`;
    } else unavailable.set("redis", "Redis not running and redis-server not found");
  }
  if (needAof) {
    const port = await startRedis(["--appendonly", "yes", "--appendfsync", "always"]);
    if (port) redisUrls["redis-aof"] = `redis://127.0.0.1:${port}`;
    else unavailable.set("redis-aof", "redis-server not found: no fsync-always Redis for BullMQ");
  }
}

// ---- running ---------------------------------------------------------------------------------------------

interface Row {
  system: SystemDef;
  workload: WorkloadId;
  /** Scaling: rows in the table. */
  rows?: number;
  results: Result[];
  metrics: Record<string, number>;
  skipped?: string;
  error?: string;
  info?: SystemInfo;
  peakRssMiB?: number;
}
const rowsOut: Row[] = [];

function paramsFor(s: SystemDef, w: WorkloadId, rows?: number): { workload: string; params: Params } {
  const base: Params = { ...s.params, pgUrl: PG_URL, concurrency: 10 };
  if (s.needs === "redis" || s.needs === "redis-aof") base.redisUrl = redisUrls[s.needs];
  switch (w) {
    case "enqueue-single":
      return { workload: w, params: { ...base, jobs: SIZES.single } };
    case "enqueue-bulk":
      return { workload: w, params: { ...base, jobs: SIZES.bulk, batch: SIZES.batch } };
    case "drain":
      return { workload: w, params: { ...base, jobs: drainJobs } };
    case "latency-same":
      return { workload: "latency", params: { ...base, producer: "same", count: SIZES.latencyCount, gapMs: SIZES.gapMs } };
    case "latency-other":
      return { workload: "latency", params: { ...base, producer: "other", count: SIZES.latencyCount, gapMs: SIZES.gapMs } };
    case "scaling":
      return { workload: w, params: { ...base, rows, claims: SIZES.claims, drainJobs: SIZES.scalingDrain } };
    case "workflow-drain":
      return { workload: w, params: { ...base, jobs: SIZES.workflowRuns[s.dialect] } };
    case "sleep-wake":
      return { workload: w, params: { ...base, count: SIZES.latencyCount, gapMs: SIZES.gapMs, sleepMs: SIZES.sleepMs } };
    case "event-resume":
      return { workload: w, params: { ...base, count: SIZES.latencyCount, gapMs: SIZES.gapMs } };
  }
}

async function checkpoint(): Promise<void> {
  // Start every PostgreSQL measurement from a clean checkpoint so one run's dirty pages don't land in the next.
  const sql = postgres(PG_URL, { max: 1, onnotice: () => {} });
  try {
    await sql`CHECKPOINT`;
  } catch {
    // Not superuser: measurements just carry a little more noise.
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function runOnce(s: SystemDef, workload: string, params: Params, timeoutMs: number): Promise<Result> {
  if (s.dialect === "postgres" && s.needs === "postgres") await checkpoint();
  const proc = Bun.spawn([BUN, join(import.meta.dir, "systems", s.file), workload, JSON.stringify(params)], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
    env: { ...process.env, NODE_ENV: "production" },
  });
  spawnedPids.push(proc.pid);
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  if (err.trim()) appendFileSync(logPath, `--- ${s.id} ${workload} ${JSON.stringify(params)}\n${err}\n`);
  const line = out.split("\n").find((l) => l.startsWith(MARK));
  if (!line) {
    return { system: s.id, workload, ok: false, metrics: {}, error: proc.signalCode ? `killed (${proc.signalCode}) after ${timeoutMs / 1000} s` : `no result line (exit ${proc.exitCode}); see ${logPath}` };
  }
  return JSON.parse(line.slice(MARK.length + 1)) as Result;
}

function aggregate(results: Result[]): Record<string, number> {
  const ok = results.filter((r) => r.ok);
  const keys = new Set(ok.flatMap((r) => Object.keys(r.metrics)));
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = median(ok.map((r) => r.metrics[k]!).filter((v) => v !== undefined));
  return out;
}

function fmtMetric(w: WorkloadId, m: Record<string, number>): string {
  if (w.startsWith("latency") || w === "sleep-wake" || w === "event-resume") return `p50 ${m.p50?.toFixed(2)} p99 ${m.p99?.toFixed(2)} ms`;
  if (w === "workflow-drain") return `${Math.round(m.runsPerSec ?? 0).toLocaleString("en-US")} runs/s, step ÷ job ${m.stepCostRatio?.toFixed(2)}×`;
  if (w === "scaling") return `claim p50 ${m.claimP50?.toFixed(3)} ms, drain ${Math.round(m.drainPerSec ?? 0).toLocaleString("en-US")}/s`;
  return `${Math.round(m.jobsPerSec ?? 0).toLocaleString("en-US")} jobs/s`;
}

/** The systems this run measures: those --only names, else every one (quick mode: but the full-only variants). */
function selectedSystems(): SystemDef[] {
  return SYSTEMS.filter((s) => (only ? only.some((o) => matches(s.id, o)) : !(quick && s.fullOnly)));
}

async function runAll(): Promise<void> {
  const order: WorkloadId[] = ["enqueue-single", "enqueue-bulk", "drain", "latency-same", "latency-other", ...WORKFLOWS, "scaling"];
  const selected = selectedSystems();
  for (const w of order) {
    if (workloadFilter && !workloadFilter.includes(w)) continue;
    for (const s of selected) {
      if (!s.workloads.includes(w)) continue;
      const sizes = w === "scaling" ? SIZES.scalingRows.filter((n) => !(s.id === "flywheel-sqlite-analyzed" && n > 100_000)) : [undefined];
      for (const rows of sizes) {
        const row: Row = { system: s, workload: w, rows, results: [], metrics: {} };
        rowsOut.push(row);
        const missing = s.needs ? unavailable.get(s.needs) : undefined;
        if (missing) {
          row.skipped = missing;
          continue;
        }
        const { workload, params } = paramsFor(s, w, rows);
        const n = w === "scaling" && (rows ?? 0) >= 1_000_000 ? 1 : reps;
        const timeoutMs = (w === "scaling" ? 900 : quick ? 240 : 480) * 1000;
        for (let rep = 0; rep < n; rep++) {
          const t0 = Date.now();
          const result = await runOnce(s, workload, params, timeoutMs);
          row.results.push(result);
          const label = `${w}${rows ? ` ${rows.toLocaleString("en-US")} rows` : ""}`.padEnd(24);
          const status = result.ok ? fmtMetric(w, result.metrics) : result.skipped ? `skipped: ${result.skipped}` : `FAILED: ${result.error}`;
          progress(`  ${label} ${s.id.padEnd(26)} ${status}  (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
          if (!result.ok) break;
        }
        const ok = row.results.filter((r) => r.ok);
        row.info = row.results.find((r) => r.info)?.info;
        if (ok.length === 0) {
          row.skipped = row.results[0]?.skipped;
          row.error = row.skipped ? undefined : row.results[0]?.error;
        } else {
          row.metrics = aggregate(ok);
          row.peakRssMiB = median(ok.map((r) => r.peakRssMiB ?? Number.NaN));
        }
      }
    }
  }
}

// ---- report ----------------------------------------------------------------------------------------------

function find(id: string, w: WorkloadId, rows?: number): Row | undefined {
  return rowsOut.find((r) => r.system.id === id && r.workload === w && r.rows === rows);
}

function rowLabel(r: Row): string {
  return `${r.system.id}${r.system.note ? ` (${r.system.note})` : ""}`;
}

function workflowRow(r: Row): WorkflowRow {
  return { id: r.system.id, label: rowLabel(r), metrics: r.metrics, peakRssMiB: r.peakRssMiB, status: statusCell(r), flywheel: r.system.file === "flywheel.ts" };
}

function statusCell(r: Row): string | null {
  if (r.skipped) return `skipped: ${r.skipped}`;
  if (r.error) return `failed: ${r.error.slice(0, 120)}`;
  return null;
}

function report(): string {
  const out: string[] = [];
  const mode = quick ? "quick" : "full";
  out.push(`flywheel benchmarks — ${mode} mode — ${new Date(started).toISOString().slice(0, 16).replace("T", " ")} UTC`);
  out.push(`command: ${["npm run bench --", ...argv].join(" ").replace(/ --$/, "")}`);
  for (const [k, v] of Object.entries(environment)) out.push(`${k}: ${v}`);
  out.push(
    `sizes: enqueue-single ${int(SIZES.single)} jobs; enqueue-bulk ${int(SIZES.bulk)} jobs in batches of ${int(SIZES.batch)}; ` +
      `drain ${int(drainJobs)} pre-filled no-op jobs at concurrency 10; latency ${SIZES.latencyCount} jobs ${SIZES.gapMs} ms apart; ` +
      `scaling ${SIZES.scalingRows.map(int).join(" / ")} ready rows, ${SIZES.claims} timed claims, drain of ${int(SIZES.scalingDrain)}; ` +
      `workflow-drain ${int(SIZES.workflowRuns.sqlite)} (SQLite) / ${int(SIZES.workflowRuns.postgres)} (PostgreSQL) runs of ${DRAIN_STEPS} steps, after as many plain jobs; ` +
      `sleep-wake and event-resume ${SIZES.latencyCount} runs; ` +
      `${reps === 1 ? "one run each" : `median of ${reps} runs`} (1M-row scaling: one run)`,
  );
  out.push("ratios: flywheel ÷ that row. Throughput: >1 = flywheel faster. Latency, claim time, memory: <1 = flywheel better.");
  out.push("");

  for (const dialect of ["sqlite", "postgres"] as const) {
    const base = BASELINE[dialect];
    const systems = SYSTEMS.filter((s) => s.dialect === dialect && rowsOut.some((r) => r.system.id === s.id));
    if (systems.length === 0) continue;
    out.push(dialect === "sqlite" ? "════ SQLite (bun:sqlite, WAL) ════" : "════ PostgreSQL (and Redis-backed BullMQ) ════");
    out.push("");
    out.push("Systems (durability as configured, read from each library's source):");
    for (const s of systems) {
      const r = rowsOut.find((x) => x.system.id === s.id && x.info);
      const info = r?.info;
      out.push(`  ${s.id}: ${info ? `${info.version} on ${info.runtime}; ${info.durability}; ${info.config}` : (rowsOut.find((x) => x.system.id === s.id)?.skipped ?? "no result")}`);
    }
    out.push("");

    for (const w of THROUGHPUT) {
      const rows = systems.map((s) => find(s.id, w)).filter((r): r is Row => r !== undefined);
      if (rows.length === 0) continue;
      const fw = find(base, w)?.metrics.jobsPerSec;
      const title =
        w === "drain"
          ? `Drain: ${int(drainJobs)} pre-filled no-op jobs, concurrency 10 (jobs/s)`
          : w === "enqueue-bulk"
            ? `Enqueue, bulk: batches of ${int(SIZES.batch)} (jobs/s)`
            : "Enqueue, one at a time, each awaited (jobs/s)";
      out.push(`── ${title}`);
      const body = rows.map((r) => {
        const status = statusCell(r);
        if (status) return [rowLabel(r), status, "", ""];
        return [rowLabel(r), int(r.metrics.jobsPerSec), r.system.id === base ? "—" : ratio(fw, r.metrics.jobsPerSec), ms(r.peakRssMiB, 0)];
      });
      out.push(table(["system", "jobs/s", `${base} ÷`, "peak RSS MiB"], body));
      out.push("");
    }

    for (const w of ["latency-same", "latency-other"] as const) {
      const rows = systems.map((s) => find(s.id, w)).filter((r): r is Row => r !== undefined);
      if (rows.length === 0) continue;
      const fw = find(base, w)?.metrics;
      out.push(
        `── Enqueue-to-start latency, ${SIZES.latencyCount} jobs ${SIZES.gapMs} ms apart, producer in ${w === "latency-same" ? "the same process" : "another process"} (ms)`,
      );
      const body = rows.map((r) => {
        const status = statusCell(r);
        if (status) return [rowLabel(r), status, "", "", "", "", ""];
        const m = r.metrics;
        const self = r.system.id === base;
        return [rowLabel(r), ms(m.p50), self ? "—" : ratio(fw?.p50, m.p50), ms(m.p95), self ? "—" : ratio(fw?.p95, m.p95), ms(m.p99), self ? "—" : ratio(fw?.p99, m.p99)];
      });
      out.push(table(["system", "p50", "ratio", "p95", "ratio", "p99", "ratio"], body));
      out.push("");
    }

    out.push(
      ...workflowTables({
        base,
        rows: (w) => systems.map((s) => find(s.id, w)).filter((r): r is Row => r !== undefined).map(workflowRow),
        enqueueStartP50: (id) => find(id, "latency-same")?.metrics.p50,
        sizes: { runs: SIZES.workflowRuns[dialect], steps: DRAIN_STEPS, samples: SIZES.latencyCount, gapMs: SIZES.gapMs, sleepMs: SIZES.sleepMs, concurrency: 10 },
      }),
    );

    const scaling = rowsOut.filter((r) => r.workload === "scaling" && r.system.dialect === dialect);
    if (scaling.length > 0) {
      const floor = dialect === "sqlite" ? "raw-sqlite" : "raw-pg";
      out.push(`── Scaling: N ready rows in the table; ${SIZES.claims} single claims timed, then a drain at concurrency 10 (ratio = ÷ ${floor} at the same N)`);
      const body = scaling.map((r) => {
        const status = statusCell(r);
        if (status) return [rowLabel(r), int(r.rows), status, "", "", "", "", ""];
        const f = find(floor, "scaling", r.rows)?.metrics;
        const isFloor = r.system.id === floor;
        const m = r.metrics;
        return [
          rowLabel(r),
          int(r.rows),
          ms(m.claimP50, 3),
          isFloor ? "—" : ratio(m.claimP50, f?.claimP50),
          ms(m.claimP99, 3),
          int(m.drainPerSec),
          isFloor ? "—" : ratio(m.drainPerSec, f?.drainPerSec),
          ms(r.peakRssMiB, 0),
        ];
      });
      out.push(table(["system", "rows", "claim p50 ms", "ratio", "claim p99 ms", "drain jobs/s", "ratio", "peak RSS MiB"], body, 1));
      out.push("");
    }

    const rss = systems
      .map((s) => {
        const peaks = rowsOut.filter((r) => r.system.id === s.id && r.workload !== "scaling" && r.peakRssMiB !== undefined).map((r) => r.peakRssMiB!);
        return { s, peak: peaks.length ? Math.max(...peaks) : undefined };
      })
      .filter((x) => x.peak !== undefined);
    if (rss.length > 0) {
      const fw = rss.find((x) => x.s.id === base)?.peak;
      out.push("── Peak RSS of the system's process, highest over the workloads above (MiB)");
      out.push(table(["system", "MiB", `${base} ÷`], rss.map((x) => [x.s.id, ms(x.peak, 0), x.s.id === base ? "—" : ratio(fw, x.peak)])));
      out.push("");
    }
  }
  out.push(
    ...workflowTargetLines(
      (["sqlite", "postgres"] as const).map((dialect) => {
        const base = BASELINE[dialect];
        const row = (w: WorkflowWorkload) => {
          const r = find(base, w);
          return r ? workflowRow(r) : undefined;
        };
        return { dialect: base, drain: row("workflow-drain"), event: row("event-resume"), enqueueStartP50: find(base, "latency-same")?.metrics.p50 };
      }),
    ),
  );
  out.push(`total time ${((Date.now() - started) / 1000).toFixed(0)} s; JSON: ${outPath}`);
  return out.join("\n");
}

// ---- main ------------------------------------------------------------------------------------------------

async function dropLeftovers(): Promise<void> {
  // A killed child cannot drop its schema; every store name carries its pid, so drop ours.
  if (unavailable.has("postgres") || spawnedPids.length === 0) return;
  const sql = postgres(PG_URL, { max: 1, onnotice: () => {} });
  try {
    const schemas = await sql<Array<{ nspname: string }>>`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'bench\\_%'`;
    for (const { nspname } of schemas) {
      if (spawnedPids.some((pid) => nspname.includes(`_${pid}_`))) await sql.unsafe(`DROP SCHEMA IF EXISTS "${nspname}" CASCADE`);
    }
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function main(): Promise<void> {
  const selected = selectedSystems();
  progress(`bench: ${quick ? "quick" : "full"} mode, ${selected.length} systems, results → ${outPath}`);
  Object.assign(environment, await describeMachine(ROOT));
  if (selected.some((s) => s.file !== "flywheel.ts" && !s.file.startsWith("raw-"))) await ensurePeers();
  if (selected.some((s) => s.needs === "postgres")) await ensurePostgres();
  if (selected.some((s) => s.needs === "redis" || s.needs === "redis-aof")) await ensureRedis(selected.some((s) => s.needs === "redis-aof"));
  for (const [what, why] of unavailable) progress(`bench: ${what} unavailable — ${why}; those rows are skipped`);
  try {
    await runAll();
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await dropLeftovers().catch(() => {});
  }
  const text = report();
  console.log(text);
  const json = {
    mode: quick ? "quick" : "full",
    startedAt: new Date(started).toISOString(),
    argv,
    environment,
    sizes: { ...SIZES, drainJobs, reps },
    rows: rowsOut.map((r) => ({
      system: r.system.id,
      label: r.system.label,
      dialect: r.system.dialect,
      workload: r.workload,
      rows: r.rows,
      metrics: r.metrics,
      peakRssMiB: r.peakRssMiB,
      skipped: r.skipped,
      error: r.error,
      info: r.info,
      runs: r.results,
    })),
    table: text,
  };
  writeFileSync(outPath, `${JSON.stringify(json, null, 2)}\n`);
}

await main();
