/**
 * `npm run bench:control-plane` — what the HTTP API and dashboard (issue #14) cost the job path, and how fast the
 * overview answers over a large table.
 *
 *   bun bench/control-plane.ts [--quick] [--parts drain,overview] [--only sqlite,postgres] [--jobs N] [--reps N]
 *                              [--rows N] [--requests N] [--out file.json]
 *
 * drain     flywheel's drain workload (bench/lib/harness.ts, the same code `npm run bench` runs) on N pre-filled
 *           no-op jobs at concurrency 10, twice per repetition: plain, and with a dashboard open (a second node of
 *           the same client serving the HTTP API and dashboard, and a client process holding `GET /api/v1/events`
 *           open and asking for `GET /api/v1/overview` every second; bench/lib/dashboard.ts). The two alternate
 *           which goes first, each in its own process on a fresh store; the median of --reps runs (default 10,
 *           6 with --quick) is reported with the ratio, the CPU of the node, the server and the client, and the
 *           exact signed-rank test over the repetitions' pairs (bench/lib/stats.ts): whether the difference is
 *           beyond the machine's noise. N: 10,000 with --quick, 20,000 without (as `npm run bench`).
 * overview  a node serving the API over a table of --rows jobs (default 1,000,000; bench/lib/fill.ts: a week's
 *           mix of states, 12 kinds, 4 queues, the runs of failures and of a tenth of the successes), its runners
 *           on an empty queue; then --requests overview requests (default 200), one at a time, 100 ms apart, from
 *           this process. The first request, which waits for the first census of the table, is reported apart.
 * --only    dialects; PostgreSQL is skipped when it does not answer (this script does not start it).
 * --out     JSON results (default bench/results/control-plane-<timestamp>.json; the processes' stderr in a .log beside it).
 */
import { benchArgs } from "./lib/args.ts";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NODE_MARK, type NodeReady } from "./lib/dashboard.ts";
import { describeMachine, pgReachable } from "./lib/environment.ts";
import { median, percentile, type Result } from "./lib/harness.ts";
import { loadLine, pgCheckpoint, runResultProcess } from "./lib/spawn.ts";
import { MIN_PAIRS, pairedVerdict } from "./lib/stats.ts";
import { DEFAULT_PG_URL } from "./lib/stores.ts";
import { int, ms, ratio, table } from "./lib/table.ts";

type Dialect = "sqlite" | "postgres";
type Part = "drain" | "overview";

const { argv, usage, flag, integer } = benchArgs("bench:control-plane", "bun bench/control-plane.ts [--quick] [--parts drain,overview] [--only sqlite,postgres] [--jobs N] [--reps N] [--rows N] [--requests N] [--out file.json]", ["--quick", "--parts", "--only", "--jobs", "--reps", "--rows", "--requests", "--out"]);
const list = <T extends string>(name: string, known: readonly T[]): T[] => {
  const given = flag(name)?.split(",").map((s) => s.trim()).filter(Boolean) ?? [...known];
  for (const g of given) if (!known.includes(g as T)) usage(`${name}: no ${g} (known: ${known.join(", ")})`);
  return given as T[];
};

const quick = argv.includes("--quick");
const parts = list<Part>("--parts", ["drain", "overview"]);
const dialects = list<Dialect>("--only", ["sqlite", "postgres"]);
const drainJobs = integer("--jobs", quick ? 10_000 : 20_000, 100);
const reps = integer("--reps", quick ? MIN_PAIRS : 10, 1);
const rows = integer("--rows", 1_000_000, 1_000);
const requests = integer("--requests", 200, 10);
const GAP_MS = 100;
const OVERVIEW_TARGET_MS = 50;

const ROOT = join(import.meta.dir, "..");
const PG_URL = process.env.BENCH_PG_URL ?? DEFAULT_PG_URL;
const stamp = new Date().toISOString().replace(/[:.]/g, "-").replace("T", "_").slice(0, 19);
const outPath = flag("--out") ?? join(import.meta.dir, "results", `control-plane-${stamp}.json`);
const logPath = outPath.replace(/\.json$/, "") + ".log";
const started = Date.now();
const progress = (line: string) => process.stderr.write(`${line}\n`);

// ---- drain, plain and with a dashboard --------------------------------------------------------------------

interface DrainRow {
  dialect: Dialect;
  plain: Result[];
  dashboard: Result[];
}

async function drainOnce(dialect: Dialect, dashboard: boolean): Promise<Result> {
  if (dialect === "postgres") await pgCheckpoint(PG_URL);
  const params = { dialect, pgUrl: PG_URL, jobs: drainJobs, concurrency: 10, dashboard };
  const result = await runResultProcess(join(import.meta.dir, "systems", "flywheel.ts"), ["drain", JSON.stringify(params)], {
    cwd: ROOT,
    logPath,
    timeoutMs: 600_000,
    label: `flywheel-${dialect} drain${dashboard ? " + dashboard" : ""}`,
  });
  const m = result.metrics;
  progress(
    `  ${dialect.padEnd(8)} ${dashboard ? "dashboard" : "plain    "} ${result.ok ? `${int(m.jobsPerSec)} jobs/s` : `FAILED: ${result.error ?? result.skipped}`}` +
      (dashboard && result.ok ? ` (${int(m.sseEvents)} events streamed, ${m.overviews} overviews, p99 ${ms(m.overviewP99Ms, 1)} ms)` : "") +
      `  load ${loadLine()}`,
  );
  return result;
}

async function drainPart(dialect: Dialect): Promise<DrainRow> {
  const row: DrainRow = { dialect, plain: [], dashboard: [] };
  for (let rep = 0; rep < reps; rep++) {
    // Alternate which goes first, so a machine getting busier or quieter does not favour one.
    for (const dashboard of rep % 2 === 0 ? [false, true] : [true, false]) {
      (dashboard ? row.dashboard : row.plain).push(await drainOnce(dialect, dashboard));
    }
  }
  return row;
}

// ---- overview over a large table ---------------------------------------------------------------------------

interface OverviewRow {
  dialect: Dialect;
  ready?: NodeReady;
  firstMs?: number;
  p50?: number;
  p99?: number;
  max?: number;
  /** The node's own time per answer (its `server-timing` header): reads and JSON, without network or scheduling. */
  serverP50?: number;
  serverP99?: number;
  requests?: number;
  /** Distinct `health.sampled_at` seen across the timed requests: censuses taken while they ran (+1). */
  samples?: number;
  bytes?: number;
  error?: string;
}

/** Resolves with the first stdout line starting with `mark`; the rest of the output goes to the log. */
async function firstLine(proc: Bun.Subprocess<"ignore", "pipe", "pipe">, mark: string, label: string): Promise<string> {
  void new Response(proc.stderr).text().then((err) => err.trim() && appendFileSync(logPath, `--- ${label}\n${err}\n`));
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of proc.stdout) {
    pending += decoder.decode(chunk, { stream: true });
    const line = pending.split("\n").find((l) => l.startsWith(mark));
    if (line) return line;
  }
  throw new Error(`exited (${proc.exitCode ?? proc.signalCode}) before serving; see ${logPath}`);
}

async function overviewPart(dialect: Dialect): Promise<OverviewRow> {
  const row: OverviewRow = { dialect };
  if (dialect === "postgres") await pgCheckpoint(PG_URL);
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, "control-plane", "node.ts"), JSON.stringify({ dialect, pgUrl: PG_URL, rows })], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
    env: { ...process.env, NODE_ENV: "production" },
  });
  try {
    const line = await firstLine(proc, NODE_MARK, `overview node ${dialect}`);
    row.ready = JSON.parse(line.slice(NODE_MARK.length + 1)) as NodeReady;
    progress(`  ${dialect.padEnd(8)} filled ${int(row.ready.rows)} jobs and ${int(row.ready.runs)} runs in ${ms(row.ready.fillSec, 1)} s; load ${loadLine()}`);
    const url = new URL("/api/v1/overview", row.ready.url);
    const get = async () => {
      const t0 = performance.now();
      const res = await fetch(url);
      const body = (await res.json()) as { health: { sampled_at: string } };
      if (res.status !== 200) throw new Error(`overview answered ${res.status}: ${JSON.stringify(body)}`);
      const server = Number(/dur=([\d.]+)/.exec(res.headers.get("server-timing") ?? "")?.[1]);
      return { ms: performance.now() - t0, server, sampledAt: body.health.sampled_at, bytes: JSON.stringify(body).length };
    };
    const first = await get();
    row.firstMs = first.ms;
    row.bytes = first.bytes;
    const times: number[] = [];
    const serverTimes: number[] = [];
    const samples = new Set<string>();
    let next = performance.now();
    for (let i = 0; i < requests; i++) {
      const r = await get();
      times.push(r.ms);
      serverTimes.push(r.server);
      samples.add(r.sampledAt);
      next += GAP_MS;
      await Bun.sleep(Math.max(0, next - performance.now()));
    }
    times.sort((a, b) => a - b);
    serverTimes.sort((a, b) => a - b);
    Object.assign(row, {
      p50: percentile(times, 50),
      p99: percentile(times, 99),
      max: times.at(-1),
      serverP50: percentile(serverTimes, 50),
      serverP99: percentile(serverTimes, 99),
      requests: times.length,
      samples: samples.size,
    });
    progress(`  ${dialect.padEnd(8)} overview: first ${ms(row.firstMs, 0)} ms, then p50 ${ms(row.p50, 1)} ms, p99 ${ms(row.p99, 1)} ms over ${requests}; load ${loadLine()}`);
  } catch (error) {
    row.error = (error as Error).message;
    progress(`  ${dialect.padEnd(8)} overview FAILED: ${row.error}`);
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
  }
  return row;
}

// ---- report -----------------------------------------------------------------------------------------------

const environment: Record<string, string> = {};
const loads: string[] = [];

function report(drains: DrainRow[], overviews: OverviewRow[], unavailable: string[]): string {
  const out: string[] = [];
  out.push(`flywheel control plane — ${quick ? "quick" : "full"} mode — ${new Date(started).toISOString().slice(0, 16).replace("T", " ")} UTC`);
  out.push(`command: ${["npm run bench:control-plane --", ...argv].join(" ").replace(/ --$/, "")}`);
  for (const [k, v] of Object.entries(environment)) out.push(`${k}: ${v}`);
  out.push(`load average (1, 5, 15 min): ${loads.join(" → ")}`);
  for (const u of unavailable) out.push(`skipped: ${u}`);
  out.push("");
  if (drains.length > 0) {
    out.push(`── Drain: ${int(drainJobs)} pre-filled no-op jobs, concurrency 10, plain and with a dashboard open (jobs/s, median of ${reps}, alternating)`);
    const body = drains.map((d) => {
      // The median of one metric over the runs that finished.
      const med = (rs: Result[], key: string) => median(rs.filter((r) => r.ok).map((r) => r.metrics[key]!));
      const runs = (rs: Result[]) => rs.map((r) => (r.ok ? int(r.metrics.jobsPerSec) : "failed")).join(" / ");
      const pick = (key: string) => med(d.dashboard, key);
      // Each repetition's two runs, back to back: the pairs the noise test compares.
      const pairs = d.plain.flatMap((p, i) => {
        const b = d.dashboard[i];
        return p.ok && b?.ok ? [[p.metrics.jobsPerSec!, b.metrics.jobsPerSec!] as const] : [];
      });
      const paired = pairedVerdict(pairs);
      return [
        `flywheel-${d.dialect}`,
        int(med(d.plain, "jobsPerSec")),
        int(med(d.dashboard, "jobsPerSec")),
        ratio(med(d.dashboard, "jobsPerSec"), med(d.plain, "jobsPerSec")),
        ratio(paired.ratio, 1),
        paired.text,
        runs(d.plain),
        runs(d.dashboard),
        `${int(med(d.plain, "cpuMsPerKJob"))} / ${int(pick("cpuMsPerKJob"))}`,
        ratio(pick("cpuMsPerKJob"), med(d.plain, "cpuMsPerKJob")),
        d.dialect === "postgres" ? `${int(med(d.plain, "serverCpuMsPerKJob"))} / ${int(pick("serverCpuMsPerKJob"))}` : "-",
        int((pick("clientCpuMs") / drainJobs) * 1000),
        int(pick("sseEvents")),
        int(pick("overviews")),
        `${ms(pick("overviewP50Ms"), 1)} / ${ms(pick("overviewP99Ms"), 1)}`,
      ];
    });
    out.push(
      table(
        ["system", "plain", "dashboard", "dashboard ÷ plain", "pairs ÷ (median)", "signed-rank p", "plain runs", "dashboard runs", "node CPU ms/1k jobs plain / dashboard", "CPU ratio", "server CPU ms/1k jobs plain / dashboard", "client CPU ms/1k jobs", "events streamed", "overviews", "overview p50 / p99 ms"],
        body,
      ),
    );
    out.push("dashboard = a second node of the same client serving the API and dashboard (no runner of its own), and a client process reading GET /api/v1/events and asking for GET /api/v1/overview every second (medians of the dashboard runs).");
    out.push(
      "pairs ÷ = each repetition's dashboard run over its plain run; signed-rank p = the exact Wilcoxon test on those pairs: " +
        "below 0.05 the dashboard made the drain slower (or faster) beyond this machine's noise, else the difference is noise.",
    );
    out.push(
      "node CPU = user + system time of the node's process (all threads) over the timed drain, per 1,000 jobs; server CPU = the same for every postgres process on the machine; " +
        "the client's CPU is its own process's. All of them share the machine's cores.",
    );
    out.push("");
  }
  if (overviews.length > 0) {
    out.push(`── GET /api/v1/overview with ${int(rows)} jobs in the table (ms; ${requests} requests one at a time, ${GAP_MS} ms apart, after the first)`);
    const body = overviews.map((o) =>
      o.error
        ? [`flywheel-${o.dialect}`, `failed: ${o.error}`]
        : [
            `flywheel-${o.dialect}`,
            `${int(o.ready!.rows)} + ${int(o.ready!.runs)} runs`,
            ms(o.ready!.fillSec, 1),
            ms(o.firstMs, 0),
            ms(o.p50, 1),
            ms(o.p99, 1),
            ms(o.max, 1),
            `${ms(o.serverP50, 1)} / ${ms(o.serverP99, 1)}`,
            String(o.samples),
            int(o.bytes),
            `${o.p99! < OVERVIEW_TARGET_MS ? "met" : "MISSED"} / ${o.serverP99! < OVERVIEW_TARGET_MS ? "met" : "MISSED"}`,
          ],
    );
    out.push(
      table(
        ["system", "jobs + runs", "fill s", "first (census)", "p50", "p99", "max", "in node p50 / p99", "samples seen", "bytes", `p99 < ${OVERVIEW_TARGET_MS} ms: round trip / in node`],
        body,
      ),
    );
    out.push(
      "p50, p99, max: round trip seen by the client process. in node: the node's server-timing header (reads and JSON, without the network and the wait for a CPU). " +
        "first = the first request, which waits for the first census of the table; samples seen = distinct health.sampled_at over the timed requests (censuses taken in the background while they ran, +1).",
    );
    out.push("");
  }
  out.push(`total time ${((Date.now() - started) / 1000).toFixed(0)} s; JSON: ${outPath}`);
  return out.join("\n");
}

async function main(): Promise<void> {
  mkdirSync(join(import.meta.dir, "results"), { recursive: true });
  writeFileSync(logPath, "");
  Object.assign(environment, await describeMachine(ROOT));
  const unavailable: string[] = [];
  let selected = dialects;
  if (dialects.includes("postgres")) {
    const info = await pgReachable(PG_URL);
    if (info) environment.postgres = info;
    else {
      unavailable.push(`postgres: not reachable at ${PG_URL}`);
      selected = dialects.filter((d) => d !== "postgres");
    }
  }
  loads.push(loadLine());
  progress(`bench:control-plane: ${parts.join(" + ")} on ${selected.join(", ")}; results → ${outPath}`);
  const drains: DrainRow[] = [];
  const overviews: OverviewRow[] = [];
  if (parts.includes("drain")) for (const d of selected) drains.push(await drainPart(d));
  if (parts.includes("overview")) for (const d of selected) overviews.push(await overviewPart(d));
  loads.push(loadLine());
  const text = report(drains, overviews, unavailable);
  console.log(text);
  writeFileSync(outPath, `${JSON.stringify({ startedAt: new Date(started).toISOString(), argv, environment, loads, drainJobs, reps, rows, requests, drains, overviews, table: text }, null, 2)}\n`);
}

await main();
