/**
 * `npm run bench:publish` — topic publish throughput (issue #13) with few and with many bindings.
 *
 *   bun bench/publish.ts [--quick] [--only sqlite,postgres] [--bindings 10,1000] [--publishes N] [--reps N] [--out file.json]
 *
 * Each measurement gets a fresh store (a temporary SQLite file or its own PostgreSQL schema) with B bindings in
 * groups of five per domain `dK`: `dK.*.paid`, `dK.eu.*`, `dK.#`, `dK.us.created`, `dK.apac.shipped`, each to its
 * own kind. Publishes cycle over the domains and over `eu.paid` (matches 3 bindings), `us.created` (2) and
 * `apac.shipped` (2): a fan-out of about 2.3 jobs whatever B is, so the figures show what the number of bindings
 * costs. `fw.publish(topic, payload)` is awaited one at a time (after 50 unmeasured), N times (1,000 with --quick,
 * 2,000 without); the same store then times N single `fw.insert` calls, the baseline a publish is compared with.
 * B values alternate which goes first; the median of --reps (default 3) is reported.
 */
import { benchArgs } from "./lib/args.ts";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type Flywheel } from "../src/index.ts";
import { describeMachine, pgReachable } from "./lib/environment.ts";
import { median } from "./lib/harness.ts";
import { loadLine, pgCheckpoint } from "./lib/spawn.ts";
import { DEFAULT_PG_URL, pgSchema, sqliteDir } from "./lib/stores.ts";
import { int, ratio, table } from "./lib/table.ts";

type Dialect = "sqlite" | "postgres";

const { argv, usage, flag } = benchArgs("bench:publish", "bun bench/publish.ts [--quick] [--only sqlite,postgres] [--bindings 10,1000] [--publishes N] [--reps N] [--out file.json]", ["--quick", "--only", "--bindings", "--publishes", "--reps", "--out"]);
const quick = argv.includes("--quick");
const dialects = (flag("--only")?.split(",").map((s) => s.trim()) ?? ["sqlite", "postgres"]) as Dialect[];
for (const d of dialects) if (d !== "sqlite" && d !== "postgres") usage(`--only: no ${d} (known: sqlite, postgres)`);
const bindingCounts = (flag("--bindings") ?? "10,1000").split(",").map(Number);
if (bindingCounts.some((b) => !Number.isInteger(b) || b < 5 || b % 5 !== 0)) usage("--bindings must be multiples of 5 (five bindings per domain)");
const publishes = Number(flag("--publishes") ?? (quick ? 1_000 : 2_000));
const reps = Number(flag("--reps") ?? 3);
if (!Number.isInteger(publishes) || publishes < 100) usage("--publishes must be an integer ≥ 100");
if (!Number.isInteger(reps) || reps < 1) usage("--reps must be a positive integer");

const ROOT = join(import.meta.dir, "..");
const PG_URL = process.env.BENCH_PG_URL ?? DEFAULT_PG_URL;
const stamp = new Date().toISOString().replace(/[:.]/g, "-").replace("T", "_").slice(0, 19);
const outPath = flag("--out") ?? join(import.meta.dir, "results", `publish-${stamp}.json`);
const started = Date.now();
const progress = (line: string) => process.stderr.write(`${line}\n`);

/** The five bindings of one domain: [pattern, kind]. */
const DOMAIN_BINDINGS = (d: string): Array<[string, string]> => [
  [`${d}.*.paid`, "on_paid"],
  [`${d}.eu.*`, "on_eu"],
  [`${d}.#`, "audit"],
  [`${d}.us.created`, "on_created"],
  [`${d}.apac.shipped`, "on_shipped"],
];
/** Topic tails the publishes cycle over, and how many of a domain's bindings each matches. */
const EVENTS: Array<[string, number]> = [
  ["eu.paid", 3],
  ["us.created", 2],
  ["apac.shipped", 2],
];

interface Run {
  publishesPerSec: number;
  jobsPerSec: number;
  jobs: number;
  insertsPerSec: number;
  bindSec: number;
}

async function open(dialect: Dialect): Promise<{ fw: Flywheel; remove(): Promise<void> }> {
  if (dialect === "sqlite") {
    const dir = sqliteDir("publish");
    const fw = await connect(`sqlite:${dir.file}`);
    return { fw, remove: async () => dir.remove() };
  }
  await pgCheckpoint(PG_URL);
  const schema = pgSchema(PG_URL, "publish");
  const fw = await connect(PG_URL as `postgres://${string}`, { schema: schema.name });
  return { fw, remove: () => schema.drop() };
}

async function measure(dialect: Dialect, bindings: number): Promise<Run> {
  const { fw, remove } = await open(dialect);
  try {
    await fw.migrate();
    const domains = bindings / 5;
    const t0 = performance.now();
    for (let d = 0; d < domains; d++) for (const [pattern, kind] of DOMAIN_BINDINGS(`d${d}`)) await fw.bind(pattern, { kind });
    const bindSec = (performance.now() - t0) / 1000;
    const topic = (i: number) => `d${i % domains}.${EVENTS[Math.floor(i / domains) % EVENTS.length]![0]}`;
    const expected = (i: number) => EVENTS[Math.floor(i / domains) % EVENTS.length]![1];
    for (let i = 0; i < 50; i++) await fw.publish(topic(i), { i: -1 - i });
    let jobs = 0;
    let want = 0;
    const t1 = performance.now();
    for (let i = 0; i < publishes; i++) {
      jobs += (await fw.publish(topic(i), { i })).length;
      want += expected(i);
    }
    const publishMs = performance.now() - t1;
    if (jobs !== want) throw new Error(`${dialect}, ${bindings} bindings: publishes made ${jobs} jobs, expected ${want}`);
    const t2 = performance.now();
    for (let i = 0; i < publishes; i++) await fw.insert("on_paid", { i });
    const insertMs = performance.now() - t2;
    return { publishesPerSec: (publishes / publishMs) * 1000, jobsPerSec: (jobs / publishMs) * 1000, jobs, insertsPerSec: (publishes / insertMs) * 1000, bindSec };
  } finally {
    await fw.close();
    await remove();
  }
}

async function main(): Promise<void> {
  mkdirSync(join(import.meta.dir, "results"), { recursive: true });
  const environment = await describeMachine(ROOT);
  const selected: Dialect[] = [];
  const skipped: string[] = [];
  for (const d of dialects) {
    if (d === "postgres") {
      const info = await pgReachable(PG_URL);
      if (!info) {
        skipped.push(`postgres: not reachable at ${PG_URL}`);
        continue;
      }
      environment.postgres = info;
    }
    selected.push(d);
  }
  const loads = [loadLine()];
  progress(`bench:publish: ${selected.join(", ")} × bindings ${bindingCounts.join(", ")} × ${reps} reps, ${int(publishes)} publishes each; results → ${outPath}`);
  const runs = new Map<string, Run[]>();
  for (const dialect of selected) {
    for (let rep = 0; rep < reps; rep++) {
      for (const b of rep % 2 === 0 ? bindingCounts : [...bindingCounts].reverse()) {
        const run = await measure(dialect, b);
        const key = `${dialect}/${b}`;
        runs.set(key, [...(runs.get(key) ?? []), run]);
        progress(`  ${dialect.padEnd(8)} ${String(b).padStart(5)} bindings: ${int(run.publishesPerSec)} publishes/s, ${int(run.jobsPerSec)} jobs/s (insert: ${int(run.insertsPerSec)}/s); load ${loadLine()}`);
      }
    }
  }
  loads.push(loadLine());

  const out: string[] = [];
  out.push(`flywheel publish — ${new Date(started).toISOString().slice(0, 16).replace("T", " ")} UTC`);
  out.push(`command: ${["npm run bench:publish --", ...argv].join(" ").replace(/ --$/, "")}`);
  for (const [k, v] of Object.entries(environment)) out.push(`${k}: ${v}`);
  out.push(`load average (1, 5, 15 min): ${loads.join(" → ")}`);
  for (const s of skipped) out.push(`skipped: ${s}`);
  out.push("");
  out.push(`── Publish, one at a time, each awaited: ${int(publishes)} publishes, fan-out ~2.3 jobs each (median of ${reps})`);
  const body: string[][] = [];
  for (const dialect of selected) {
    for (const b of bindingCounts) {
      const rs = runs.get(`${dialect}/${b}`) ?? [];
      const m = (k: keyof Run) => median(rs.map((r) => r[k]));
      body.push([
        `flywheel-${dialect}`,
        int(b),
        int(m("publishesPerSec")),
        int(m("jobsPerSec")),
        (m("jobs") / publishes).toFixed(2),
        int(m("insertsPerSec")),
        ratio(m("publishesPerSec"), m("insertsPerSec")),
        ratio(m("publishesPerSec"), median((runs.get(`${dialect}/${bindingCounts[0]}`) ?? []).map((r) => r.publishesPerSec))),
        rs.map((r) => int(r.publishesPerSec)).join(" / "),
      ]);
    }
  }
  out.push(table(["system", "bindings", "publishes/s", "jobs/s", "jobs per publish", "insert/s", "publish ÷ insert", `÷ ${bindingCounts[0]} bindings`, "runs (publishes/s)"], body));
  out.push("insert/s: single fw.insert calls, awaited one at a time, on the same store right after the publishes (the one-job baseline).");
  out.push("");
  out.push(`total time ${((Date.now() - started) / 1000).toFixed(0)} s; JSON: ${outPath}`);
  const text = out.join("\n");
  console.log(text);
  writeFileSync(outPath, `${JSON.stringify({ startedAt: new Date(started).toISOString(), argv, environment, loads, publishes, reps, runs: Object.fromEntries(runs), table: text }, null, 2)}\n`);
}

await main();
