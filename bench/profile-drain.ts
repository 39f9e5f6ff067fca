/**
 * Where flywheel's drain time goes: runs the drain workload in this process with every driver method
 * wrapped, and prints per-method calls, rows per call, round-trip time (mean, p50, p99) and the share of
 * wall time, plus the event-loop time left for everything else (JS: attempt bookkeeping, observers, timers).
 *
 *   bun bench/profile-drain.ts [sqlite|postgres] [jobs] [--analyze] [--runners N] [--concurrency C] [--prefetch P] [--workflow S]
 *   (prefix with `bun --cpu-prof --cpu-prof-dir=DIR` for a CPU profile)
 *
 * `--workflow S` drains runs of a workflow of S no-op steps (`ctx.step`) instead of no-op jobs, and also times
 * the workflow's own driver calls (`workflowLoad` at each attempt's start, `stepSave` per step).
 *
 * `--runners N --concurrency C` splits the node into N runners of C slots each (default 1 × 10): N runners are
 * N independent claim → run → finalize chains, which shows how much overlapping round trips would gain.
 *
 * `--analyze` runs ANALYZE on the jobs table after the backlog is inserted (PostgreSQL's autovacuum would do
 * it some time after a large insert; a fresh table has no statistics).
 */
import { readFileSync } from "node:fs";
import postgres from "postgres";
import { connect, defineWorker, defineWorkflow } from "../src/index.ts";
import type { Driver } from "../src/driver/types.ts";
import { percentile } from "./lib/harness.ts";
import { DEFAULT_PG_URL, pgSchema, sqliteDir } from "./lib/stores.ts";

const dialect = process.argv[2] === "postgres" ? "postgres" : "sqlite";
const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const runners = option("--runners", 1);
const concurrency = option("--concurrency", 10);
const prefetch = option("--prefetch", 0);
const jobs = Number(args.find((a, i) => /^\d+$/.test(a) && !args[i - 1]?.startsWith("--")) ?? 20_000);
const analyze = args.includes("--analyze");
const steps = option("--workflow", 0);
const unit = steps > 0 ? "run" : "job";
const pgUrl = process.env.BENCH_PG_URL ?? DEFAULT_PG_URL;

const schema = pgSchema(pgUrl, "profile");
const dir = dialect === "sqlite" ? sqliteDir("profile") : null;
const fw = dialect === "sqlite" ? await connect(`sqlite:${dir!.file}`) : await connect(pgUrl, { schema: schema.name });
let handled = 0;
fw.register(defineWorker({ kind: "noop", async work() { handled++; } }));
fw.register(defineWorkflow({
  kind: "steps",
  async run(ctx) {
    for (let k = 0; k < steps; k++) await ctx.step(`s${k}`, () => k);
    handled++;
  },
}));
await fw.migrate();
for (let start = 0; start < jobs; start += 5000) {
  await fw.insertMany(Array.from({ length: Math.min(5000, jobs - start) }, (_, k) => ({ kind: steps > 0 ? "steps" : "noop", args: { i: start + k } })));
}
if (analyze) {
  if (dialect === "sqlite") (fw.driver as unknown as { db: { run(s: string): void } }).db.run("ANALYZE");
  else {
    const sql = postgres(pgUrl, { max: 1, onnotice: () => {}, connection: { search_path: schema.name } });
    await sql`ANALYZE jobs`;
    await sql.end();
  }
}

interface Stat { calls: number; rows: number; times: number[] }
const stats = new Map<string, Stat>();
const driver = fw.driver as unknown as Record<string, unknown>;
for (const method of ["jobFinalizeAndClaim", "jobClaim", "jobFinalize", "workflowLoad", "stepSave", "leaseRenew", "jobInsert", "queueStatsGet"] as const) {
  const original = (driver[method] as (p: unknown) => Promise<unknown>).bind(fw.driver);
  const stat: Stat = { calls: 0, rows: 0, times: [] };
  stats.set(method, stat);
  driver[method] = async (p: { items?: unknown[]; limit?: number }) => {
    const t0 = performance.now();
    const result = await original(p);
    stat.times.push(performance.now() - t0);
    stat.calls++;
    // rows: jobs claimed, or outcomes finalized; the combined call counts the jobs it claimed.
    stat.rows += Array.isArray(result) ? result.length : ((result as { jobs?: unknown[] } | null)?.jobs?.length ?? 0);
    return result;
  };
}
void (fw.driver as Driver);

// Event-loop lag sampler: how late a 1 ms timer fires tells how busy the single JS thread is.
let lagTotal = 0;
let lagSamples = 0;
let last = performance.now();
const sampler = setInterval(() => {
  const now = performance.now();
  lagTotal += Math.max(0, now - last - 1);
  lagSamples++;
  last = now;
}, 1);

// Write volume: SQLite's WAL writes are this process's write() calls; PostgreSQL's are in pg_stat_wal.
const readIo = () => {
  try {
    const text = readFileSync("/proc/self/io", "utf8");
    return { wchar: Number(/wchar: (\d+)/.exec(text)?.[1] ?? 0), syscw: Number(/syscw: (\d+)/.exec(text)?.[1] ?? 0) };
  } catch {
    return { wchar: 0, syscw: 0 };
  }
};
const statSql = dialect === "postgres" ? postgres(pgUrl, { max: 1, onnotice: () => {} }) : null;
const readPg = async () => {
  if (!statSql) return null;
  const [row] = await statSql<Array<{ wal_records: string; wal_bytes: string; wal_fpi: string; commits: string }>>`
    SELECT w.wal_records::text, w.wal_bytes::text, w.wal_fpi::text,
           (SELECT xact_commit::text FROM pg_stat_database WHERE datname = current_database()) AS commits
    FROM pg_stat_wal w`;
  return { records: Number(row!.wal_records), bytes: Number(row!.wal_bytes), fpi: Number(row!.wal_fpi), commits: Number(row!.commits) };
};
const io0 = readIo();
const pg0 = await readPg();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const controller = new AbortController();
const running = fw
  .node({ runners: Array.from({ length: runners }, () => ({ queues: ["default"], concurrency, prefetch })), scheduler: false })
  .run(controller.signal);
while (handled < jobs) await new Promise((r) => setTimeout(r, 1));
const wall = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const io1 = readIo();
controller.abort();
await running;
clearInterval(sampler);
await statSql?.unsafe("SELECT pg_stat_force_next_flush()").catch(() => {});
await new Promise((r) => setTimeout(r, 600)); // stats are flushed at most every 500 ms
const pg1 = await readPg();
await statSql?.end();

const what = steps > 0 ? `runs of a ${steps}-step no-op workflow` : "no-op jobs";
console.log(`flywheel ${dialect} drain of ${jobs} ${what}, ${runners} runner(s) × concurrency ${concurrency}${analyze ? " (after ANALYZE)" : ""}`);
console.log(`wall ${wall.toFixed(0)} ms → ${Math.round((jobs / wall) * 1000).toLocaleString("en-US")} ${unit}s/s; ` +
  `process CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms (${(((cpu.user + cpu.system) / 1000 / wall) * 100).toFixed(0)}% of one core); ` +
  `mean event-loop lag ${(lagTotal / Math.max(1, lagSamples)).toFixed(2)} ms`);
console.log("method                calls   rows/call   mean ms   p50 ms   p99 ms   total ms   % of wall");
for (const [method, s] of stats) {
  if (s.calls === 0) continue;
  const sorted = [...s.times].sort((a, b) => a - b);
  const total = s.times.reduce((a, b) => a + b, 0);
  console.log(
    `${method.padEnd(20)} ${String(s.calls).padStart(6)}  ${(s.rows / s.calls).toFixed(2).padStart(10)}  ${(total / s.calls).toFixed(3).padStart(8)}  ` +
      `${percentile(sorted, 50).toFixed(3).padStart(7)}  ${percentile(sorted, 99).toFixed(3).padStart(7)}  ${total.toFixed(0).padStart(9)}  ${((total / wall) * 100).toFixed(0).padStart(9)}%`,
  );
}
const claims = stats.get("jobClaim")!;
const finals = stats.get("jobFinalize")!;
const both = stats.get("jobFinalizeAndClaim")!;
if (pg0 && pg1) {
  console.log(`PostgreSQL WAL per ${unit}: ${((pg1.bytes - pg0.bytes) / jobs).toFixed(0)} bytes, ${((pg1.records - pg0.records) / jobs).toFixed(1)} records, ` +
    `${((pg1.fpi - pg0.fpi) / jobs).toFixed(2)} full-page images; commits per ${unit} ${((pg1.commits - pg0.commits) / jobs).toFixed(3)} (server-wide counters)`);
} else {
  console.log(`SQLite write() per ${unit}: ${((io1.wchar - io0.wchar) / jobs).toFixed(0)} bytes in ${((io1.syscw - io0.syscw) / jobs).toFixed(2)} calls (WAL frames + checkpoints)`);
}
const loads = stats.get("workflowLoad")!;
const saves = stats.get("stepSave")!;
console.log(
  `round trips per ${unit}: ${((claims.calls + finals.calls + both.calls + loads.calls + saves.calls) / jobs).toFixed(3)} (finalize+claim ${(both.calls / jobs).toFixed(3)}, ` +
    `claim ${(claims.calls / jobs).toFixed(3)}, finalize ${(finals.calls / jobs).toFixed(3)}` +
    `${steps > 0 ? `, workflowLoad ${(loads.calls / jobs).toFixed(3)}, stepSave ${(saves.calls / jobs).toFixed(3)}` : ""})`,
);

await fw.close();
if (dialect === "postgres") await schema.drop();
dir?.remove();
