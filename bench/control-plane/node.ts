/**
 * A flywheel node serving the HTTP API and dashboard over a large table, for `bench/control-plane.ts`'s overview
 * figures: `bun bench/control-plane/node.ts '<json>'` with `{ dialect, pgUrl?, rows }`.
 *
 * It makes a fresh store (a temporary SQLite file or its own PostgreSQL schema), fills it with `rows` jobs
 * (`bench/lib/fill.ts`), registers a worker for each filled kind on its queue and three schedules, starts a node
 * with `http: { port: 0 }` whose one runner watches an empty queue (so nothing drains the backlog under the
 * measurement) and the scheduler off, then prints `@@NODE@@ {json}` (its URL and the fill's figures) and serves
 * until SIGTERM, when it stops the node and removes the store.
 */
import { connect, defineWorker } from "../../src/index.ts";
import { NODE_MARK, type NodeReady } from "../lib/dashboard.ts";
import { FILL_KINDS, FILL_QUEUES, fillJobs } from "../lib/fill.ts";
import { DEFAULT_PG_URL, pgSchema, sqliteDir } from "../lib/stores.ts";


const params = JSON.parse(process.argv[2] ?? "{}") as { dialect?: string; pgUrl?: string; rows?: number };
const dialect = params.dialect === "postgres" ? "postgres" : "sqlite";
const pgUrl = params.pgUrl ?? DEFAULT_PG_URL;
const rows = params.rows ?? 1_000_000;

const dir = dialect === "sqlite" ? sqliteDir("control-plane") : null;
const schema = dialect === "postgres" ? pgSchema(pgUrl, "control_plane") : null;
const fw = dir ? await connect(`sqlite:${dir.file}`) : await connect(pgUrl as `postgres://${string}`, { schema: schema!.name });
const stop = new AbortController();
let running: Promise<void> | null = null;

async function teardown(): Promise<void> {
  stop.abort();
  await running?.catch(() => {});
  await fw.close();
  await schema?.drop();
  dir?.remove();
}
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => void teardown().then(() => process.exit(0), () => process.exit(1)));
}

try {
  await fw.migrate();
  const t0 = performance.now();
  const { runs } = await fillJobs(dir ? { dialect: "sqlite", file: dir.file } : { dialect: "postgres", pgUrl, schema: schema!.name }, rows);
  const fillSec = (performance.now() - t0) / 1000;
  fw.register(...FILL_KINDS.map((kind, i) => defineWorker({ kind, queue: FILL_QUEUES[i % FILL_QUEUES.length], async work() {} })));
  await fw.upsertPeriodic({ slug: "nightly-report", kind: "kind_2", cron: "0 3 * * *" });
  await fw.upsertPeriodic({ slug: "sync-every-5m", kind: "kind_1", every: "5m" });
  await fw.upsertPeriodic({ slug: "hourly-digest", kind: "kind_5", cron: "0 * * * *" });
  const node = fw.node({ runners: [{ queues: ["bench-idle"], concurrency: 1 }], scheduler: false, http: { port: 0 } });
  running = node.run(stop.signal);
  const ready: NodeReady = { url: node.url!.href, rows, runs, fillSec };
  process.stdout.write(`${NODE_MARK} ${JSON.stringify(ready)}\n`);
} catch (error) {
  process.stderr.write(`control-plane node: ${(error as Error).stack ?? String(error)}\n`);
  await teardown();
  process.exit(1);
}
