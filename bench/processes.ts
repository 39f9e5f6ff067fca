/**
 * `npm run bench:processes` — does a drain on one PostgreSQL go faster with more processes (issue #16, "scale")?
 *
 *   bun bench/processes.ts [--procs 1,2,4] [--jobs N] [--reps N]
 *
 * Per repetition and process count (the order alternates between repetitions): a fresh schema holding N no-op
 * jobs (default 20,000; inserted in batches of 1,000, untimed), `CHECKPOINT`, then that many
 * `bench/processes/worker.ts` processes, each a node of one runner at concurrency 10. The clock runs from the
 * `go` sent to all of them (they have connected and registered by then) until the database reports every job
 * succeeded (polled every 50 ms). Reported: jobs/s (median of --reps, default 3), the ratio to one process, and
 * the CPU spent over the timed window by the server (every `postgres` process on the machine) and by the
 * workers, as cores: on a 2-core machine that runs both, their sum says how much room there was.
 */
import { join } from "node:path";
import postgres from "postgres";
import { connect } from "../src/index.ts";
import { benchArgs } from "./lib/args.ts";
import { describeMachine, pgReachable } from "./lib/environment.ts";
import { median } from "./lib/harness.ts";
import { clockTicks, groupTicks, serverTicks, ticksSpent } from "./lib/proc.ts";
import { loadLine, pgCheckpoint } from "./lib/spawn.ts";
import { DEFAULT_PG_URL, pgSchema } from "./lib/stores.ts";
import { int, ratio, table } from "./lib/table.ts";

const { usage, integer, integers } = benchArgs("bench:processes", "bun bench/processes.ts [--procs 1,2,4] [--jobs N] [--reps N]", ["--procs", "--jobs", "--reps"]);
const procCounts = integers("--procs", [1, 2, 4], 1);
const jobs = integer("--jobs", 20_000, 1);
const reps = integer("--reps", 3, 1);
const PG_URL = process.env.BENCH_PG_URL ?? DEFAULT_PG_URL;
const WORKER = join(import.meta.dir, "processes", "worker.ts");
const POLL_MS = 50;

interface Run {
  procs: number;
  jobsPerSec: number;
  serverCores: number;
  workerCores: number;
}

async function fill(schema: string): Promise<void> {
  const fw = await connect(PG_URL, { schema });
  try {
    await fw.migrate();
    for (let i = 0; i < jobs; i += 1000) {
      await fw.insertMany(Array.from({ length: Math.min(1000, jobs - i) }, (_, j) => ({ kind: "noop", args: { i: i + j } })));
    }
  } finally {
    await fw.close();
  }
}

async function once(procs: number): Promise<Run> {
  const schema = pgSchema(PG_URL, "procs");
  const sql = postgres(PG_URL, { max: 1, onnotice: () => {} });
  const workers: Array<Bun.Subprocess<"pipe", "pipe", "inherit">> = [];
  try {
    await fill(schema.name);
    await pgCheckpoint(PG_URL);
    const pids: number[] = [];
    for (let i = 0; i < procs; i++) {
      const worker = Bun.spawn([process.execPath, WORKER, PG_URL, schema.name], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
      workers.push(worker);
      const reader = worker.stdout.getReader();
      const { value } = await reader.read();
      reader.releaseLock();
      const line = new TextDecoder().decode(value);
      if (!line.startsWith("@@READY@@")) throw new Error(`worker ${i} did not get ready: ${line}`);
      pids.push(worker.pid);
    }
    const count = () => sql.unsafe(`SELECT count(*)::int AS n FROM "${schema.name}".jobs WHERE state = 'succeeded'`).then((r) => r[0]!.n as number);
    const server0 = serverTicks();
    const workers0 = pids.map(groupTicks);
    const t0 = performance.now();
    for (const worker of workers) {
      worker.stdin.write("go\n");
      worker.stdin.flush();
    }
    while ((await count()) < jobs) await Bun.sleep(POLL_MS);
    const seconds = (performance.now() - t0) / 1000;
    const tick = clockTicks();
    const serverCores = ticksSpent(server0, serverTicks()) / tick / seconds;
    const workerCores = pids.reduce((sum, pid, i) => sum + (groupTicks(pid) - workers0[i]!), 0) / tick / seconds;
    return { procs, jobsPerSec: jobs / seconds, serverCores, workerCores };
  } finally {
    for (const worker of workers) worker.kill("SIGTERM");
    await Promise.all(workers.map((w) => w.exited));
    await sql.end({ timeout: 5 });
    await schema.drop();
  }
}

if (!(await pgReachable(PG_URL))) usage(`PostgreSQL does not answer at ${PG_URL}`);
const machine = await describeMachine(join(import.meta.dir, ".."));
console.log(`flywheel drain by process count — ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`);
console.log(`command: bun bench/processes.ts ${process.argv.slice(2).join(" ")}`.trimEnd());
for (const [k, v] of Object.entries(machine)) console.log(`${k}: ${v}`);
console.log(`load average (1, 5, 15 min): ${loadLine()}`);
const runs: Run[] = [];
for (let rep = 0; rep < reps; rep++) {
  for (const procs of rep % 2 === 0 ? procCounts : [...procCounts].reverse()) {
    const run = await once(procs);
    runs.push(run);
    process.stderr.write(`  ${procs} process(es): ${int(run.jobsPerSec)} jobs/s, server ${run.serverCores.toFixed(2)} cores, workers ${run.workerCores.toFixed(2)}  load ${loadLine()}\n`);
  }
}
const of = (procs: number) => runs.filter((r) => r.procs === procs);
const base = median(of(procCounts[0]!).map((r) => r.jobsPerSec));
console.log(`\n── Drain: ${int(jobs)} pre-filled no-op jobs, N processes × (1 runner, concurrency 10) on one PostgreSQL (median of ${reps})`);
console.log(
  table(
    ["processes", "jobs/s", `÷ ${procCounts[0]} process${procCounts[0] === 1 ? "" : "es"}`, "runs", "server cores", "worker cores"],
    procCounts.map((procs) => {
      const rs = of(procs);
      const rate = median(rs.map((r) => r.jobsPerSec));
      return [
        String(procs),
        int(rate),
        procs === procCounts[0] ? "—" : ratio(rate, base),
        rs.map((r) => int(r.jobsPerSec)).join(" / "),
        median(rs.map((r) => r.serverCores)).toFixed(2),
        median(rs.map((r) => r.workerCores)).toFixed(2),
      ];
    }),
  ),
);
console.log(`cores = CPU time over the timed window ÷ its length: server = every postgres process, workers = the N flywheel processes.`);
console.log(`load average (1, 5, 15 min): ${loadLine()}`);
