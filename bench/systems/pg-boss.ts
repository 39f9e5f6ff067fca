/**
 * pg-boss (npm `pg-boss`) on PostgreSQL, under Bun (its `engines` asks for Node ≥ 22.12; the machine's Node
 * is older, and it runs unmodified under Bun). It never changes `synchronous_commit` (checked in its dist/),
 * so durability is the server's: fsync on, synchronous_commit on. Completed jobs stay as rows
 * (state `completed`); no per-attempt history.
 * Configuration: `useListenNotify: true` and the queue created with `notify: true` (its documented opt-in
 * for immediate wake-ups; otherwise workers poll every 2 s). Workers: pg-boss's worker sleeps the polling
 * interval after every fetch unless the fetch was a full batch with `burstWhenBatchFull`, so the drain uses
 * `batchSize: 10, burstWhenBatchFull: true` in one worker (10 jobs in flight, like concurrency 10).
 * (`localConcurrency: 10, batchSize: 1` is poll-bound: it did not drain 2,000 jobs in 20 s here.)
 */
import postgres from "postgres";
import { loadPeer, peerVersion, runSystem, runtimeName, type BenchSystem, type Location, type Params, registerStop } from "../lib/harness.ts";
import { DEFAULT_PG_URL, pgSchema } from "../lib/stores.ts";

interface Boss {
  on(event: string, fn: (...args: unknown[]) => void): void;
  start(): Promise<unknown>;
  stop(options?: Record<string, unknown>): Promise<void>;
  createQueue(name: string, options?: Record<string, unknown>): Promise<void>;
  send(name: string, data: unknown): Promise<string | null>;
  insert(name: string, jobs: Array<{ data: unknown }>): Promise<unknown>;
  work(name: string, options: Record<string, unknown>, handler: (jobs: Array<{ data: unknown }>) => Promise<unknown>): Promise<string>;
  offWork(name: string, options?: Record<string, unknown>): Promise<void>;
}
interface PgBossModule {
  PgBoss: new (options: Record<string, unknown>) => Boss;
}

const QUEUE = "bench";

async function system(params: Params): Promise<BenchSystem> {
  const { PgBoss } = await loadPeer<PgBossModule>("pg-boss");
  const url = params.pgUrl ?? DEFAULT_PG_URL;
  const schema = pgSchema(url, "pgboss");
  let schemaName = schema.name;
  let boss: Boss | null = null;
  let sql: postgres.Sql | null = null;
  let stops: Array<() => Promise<void>> = [];

  const open = async () => {
    const b = new PgBoss({ connectionString: url, schema: schemaName, useListenNotify: true, max: 12 });
    b.on("error", (error) => console.error("pg-boss:", (error as Error).message));
    await b.start();
    return b;
  };

  return {
    info: () => ({
      version: `pg-boss ${peerVersion("pg-boss")}`,
      runtime: runtimeName(),
      durability: "PostgreSQL fsync=on, synchronous_commit=on (server default; not changed by the library)",
      config: "useListenNotify + queue notify; work: batchSize c, burstWhenBatchFull, localConcurrency 1",
    }),
    async setup(): Promise<Location> {
      boss = await open();
      await boss.createQueue(QUEUE, { notify: true });
      sql = postgres(url, { max: 1, onnotice: () => {} });
      return { schema: schemaName };
    },
    async attach(location) {
      schemaName = location.schema as string;
      boss = await open();
    },
    async teardown() {
      for (const stop of stops) await stop();
      stops = [];
      await boss?.stop({ graceful: false, timeout: 2000 });
      await sql?.end({ timeout: 5 });
      await schema.drop();
    },
    async enqueue(args) {
      await boss!.send(QUEUE, args);
    },
    async enqueueMany(items) {
      await boss!.insert(QUEUE, items.map((data) => ({ data })));
    },
    async startWorkers(c, handler) {
      const id = await boss!.work(QUEUE, { batchSize: c, burstWhenBatchFull: true }, async (jobs) => {
        await Promise.all(jobs.map(async (job) => handler(job.data as { i: number; t?: number })));
      });
      return registerStop(stops, () => boss!.offWork(QUEUE, { id, wait: true }));
    },
    async completed() {
      const rows = await sql!.unsafe<Array<{ n: number }>>(
        `SELECT count(*)::int AS n FROM "${schemaName}".job WHERE name = '${QUEUE}' AND state = 'completed'`,
      );
      return rows[0]!.n;
    },
  };
}

await runSystem("pg-boss", system);
