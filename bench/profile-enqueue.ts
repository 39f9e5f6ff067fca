/**
 * Enqueue cost per job, flywheel against the raw floor, in one process: CPU time as well as wall time, so a
 * figure survives a machine busy with other work (wall clock there moves 2× between runs; CPU time much less).
 *
 *   bun bench/profile-enqueue.ts sqlite|postgres [--reps N] [--single N] [--batches N]
 *
 * Each repetition opens fresh stores and times, in turn: `fw.insert` awaited one at a time, the raw floor's
 * single insert, `fw.insertMany` in batches of 1,000, the raw floor's bulk insert; every figure is the median
 * over the repetitions. The raw statements are those of `bench/systems/raw-sqlite.ts` and `raw-pg.ts`. On
 * SQLite all the work is in this process, so CPU time is the whole cost; on PostgreSQL the server's share is
 * not in it, and wall time is the figure to read (with the machine's load next to it).
 */
import { Database } from "bun:sqlite";
import { loadavg } from "node:os";
import postgres from "postgres";
import { connect, defineWorker, type Flywheel } from "../src/index.ts";
import { DEFAULT_PG_URL, pgSchema, sqliteDir } from "./lib/stores.ts";

const BATCH = 1_000;

interface Enqueuer {
  insert(args: { i: number }): Promise<unknown>;
  insertMany(items: Array<{ i: number }>): Promise<unknown>;
  close(): Promise<void>;
}

interface Cost {
  wallUs: number;
  cpuUs: number;
}

function usage(message: string): never {
  console.error(`profile-enqueue: ${message}\nusage: bun bench/profile-enqueue.ts sqlite|postgres [--reps N] [--single N] [--batches N]`);
  process.exit(2);
}

function intFlag(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) usage(`${name} must be a positive integer, got ${process.argv[at + 1]}`);
  return value;
}

const dialect = process.argv[2];
if (dialect !== "sqlite" && dialect !== "postgres") usage(`the first argument must be sqlite or postgres, got ${dialect}`);
const reps = intFlag("--reps", 5);
const singles = intFlag("--single", 2_000);
const batches = intFlag("--batches", 20);
const pgUrl = process.env.BENCH_PG_URL ?? DEFAULT_PG_URL;

/** flywheel through its public API, default settings, one registered no-op worker. */
async function flywheel(): Promise<Enqueuer> {
  let fw: Flywheel;
  let drop = async () => {};
  if (dialect === "sqlite") {
    const dir = sqliteDir("profile-enqueue");
    fw = await connect(`sqlite:${dir.file}`);
    drop = async () => dir.remove();
  } else {
    const schema = pgSchema(pgUrl, "profile_enqueue");
    fw = await connect(pgUrl, { schema: schema.name });
    drop = () => schema.drop();
  }
  await fw.migrate();
  fw.register(defineWorker({ kind: "noop", async work() {} }));
  return {
    insert: (args) => fw.insert("noop", args),
    insertMany: (items) => fw.insertMany(items.map((args) => ({ kind: "noop", args }))),
    async close() {
      await fw.close();
      await drop();
    },
  };
}

/** The floor: the statements of bench/systems/raw-sqlite.ts and raw-pg.ts, no library. */
async function raw(): Promise<Enqueuer> {
  if (dialect === "sqlite") {
    const dir = sqliteDir("profile-enqueue-raw");
    const db = new Database(dir.file, { create: true, strict: true });
    db.run("PRAGMA journal_mode = WAL");
    db.run("PRAGMA synchronous = NORMAL");
    db.run(`CREATE TABLE jobs (id INTEGER PRIMARY KEY, queue TEXT NOT NULL, args TEXT NOT NULL,
              state INTEGER NOT NULL DEFAULT 0, run_at INTEGER NOT NULL)`);
    db.run("CREATE INDEX jobs_ready ON jobs (queue, run_at, id) WHERE state = 0");
    const insert = db.query("INSERT INTO jobs (queue, args, state, run_at) VALUES ('default', ?, 0, ?)");
    return {
      async insert(args) {
        insert.run(JSON.stringify(args), Date.now());
      },
      async insertMany(items) {
        const now = Date.now();
        db.transaction(() => {
          for (const args of items) insert.run(JSON.stringify(args), now);
        }).immediate();
      },
      async close() {
        db.close(false);
        dir.remove();
      },
    };
  }
  const schema = pgSchema(pgUrl, "profile_enqueue_raw");
  const sql = postgres(pgUrl, { max: 10, onnotice: () => {}, connection: { search_path: schema.name } });
  await sql.unsafe(`CREATE SCHEMA "${schema.name}"`);
  await sql.unsafe(`CREATE TABLE jobs (id bigserial PRIMARY KEY, queue text NOT NULL, args jsonb NOT NULL,
    state smallint NOT NULL DEFAULT 0, run_at timestamptz NOT NULL DEFAULT now())`);
  await sql.unsafe("CREATE INDEX jobs_ready ON jobs (queue, run_at, id) WHERE state = 0");
  const channel = `${schema.name}_jobs`;
  return {
    insert: (args) =>
      sql`WITH ins AS (INSERT INTO jobs (queue, args) VALUES ('default', ${sql.json(args)}) RETURNING 1)
          SELECT pg_notify(${channel}, '') FROM ins`,
    insertMany: (items) =>
      sql`WITH ins AS (INSERT INTO jobs (queue, args) SELECT 'default', x FROM jsonb_array_elements(${sql.json(items)}) x RETURNING 1)
          SELECT pg_notify(${channel}, '') FROM (SELECT 1 FROM ins LIMIT 1) one`,
    async close() {
      await sql.end({ timeout: 5 });
      await schema.drop();
    },
  };
}

/** Per-job wall and CPU time of `jobs` jobs enqueued by `run`. */
async function timed(jobs: number, run: () => Promise<void>): Promise<Cost> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { wallUs: (wall * 1000) / jobs, cpuUs: (cpu.user + cpu.system) / jobs };
}

/** Single and bulk enqueue costs of one system, after a warm-up of each. */
async function measure(open: () => Promise<Enqueuer>): Promise<{ single: Cost; bulk: Cost }> {
  const target = await open();
  try {
    let i = 0;
    const batch = () => Array.from({ length: BATCH }, () => ({ i: i++ }));
    for (let k = 0; k < 50; k++) await target.insert({ i: i++ });
    const single = await timed(singles, async () => {
      for (let k = 0; k < singles; k++) await target.insert({ i: i++ });
    });
    await target.insertMany(batch());
    const prepared = Array.from({ length: batches }, batch);
    const bulk = await timed(batches * BATCH, async () => {
      for (const items of prepared) await target.insertMany(items);
    });
    return { single, bulk };
  } finally {
    await target.close();
  }
}

const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const runs: Record<"flywheel" | "raw", Array<{ single: Cost; bulk: Cost }>> = { flywheel: [], raw: [] };
const load0 = loadavg()[0]!;
for (let r = 0; r < reps; r++) {
  runs.flywheel.push(await measure(flywheel));
  runs.raw.push(await measure(raw));
}
const load1 = loadavg()[0]!;

const pick = (who: "flywheel" | "raw", workload: "single" | "bulk", what: keyof Cost) => median(runs[who].map((run) => run[workload][what]));
console.log(`flywheel enqueue cost, ${dialect}: ${singles} awaited inserts, ${batches} batches of ${BATCH}; median of ${reps} alternating runs`);
console.log(`load average ${load0.toFixed(1)} → ${load1.toFixed(1)}`);
console.log("workload  system     wall µs/job  CPU µs/job  jobs/s (wall)  flywheel ÷ raw (jobs/s, wall)  raw ÷ flywheel (CPU)");
for (const workload of ["single", "bulk"] as const) {
  for (const who of ["flywheel", "raw"] as const) {
    const wall = pick(who, workload, "wallUs");
    const cpu = pick(who, workload, "cpuUs");
    const ratioWall = who === "flywheel" ? `${((100 * pick("raw", workload, "wallUs")) / wall).toFixed(0)} %` : "";
    const ratioCpu = who === "flywheel" ? `${((100 * pick("raw", workload, "cpuUs")) / cpu).toFixed(0)} %` : "";
    console.log(
      `${workload.padEnd(8)}  ${who.padEnd(9)}  ${wall.toFixed(2).padStart(11)}  ${cpu.toFixed(2).padStart(10)}  ${Math.round(1e6 / wall).toLocaleString("en-US").padStart(13)}  ${ratioWall.padStart(29)}  ${ratioCpu.padStart(20)}`.trimEnd(),
    );
  }
}
