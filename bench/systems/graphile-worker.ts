/**
 * graphile-worker (npm `graphile-worker`) on PostgreSQL, under Bun (its `engines` asks for Node ≥ 22.18; the
 * machine's Node is older, and it runs unmodified under Bun). It never changes `synchronous_commit` (checked
 * in its dist/), so durability is the server's: fsync on, synchronous_commit on.
 * Variants: `default` — library defaults (prepared statements on, no local queue, no completion batching,
 * pollInterval 2000 ms, LISTEN/NOTIFY wake-ups); `batched` — the batching its performance page documents:
 * `localQueue: { size: 500 }`, `completeJobBatchDelay: 0`, `failJobBatchDelay: 0`.
 * It deletes a job's row on completion and keeps no per-attempt history.
 */
import postgres from "postgres";
import { loadPeer, peerVersion, runSystem, runtimeName, type BenchSystem, type Location, type Params, registerStop } from "../lib/harness.ts";
import { DEFAULT_PG_URL, pgSchema } from "../lib/stores.ts";

interface Runner {
  stop(): Promise<void>;
  promise: Promise<void>;
}
interface WorkerUtils {
  addJob(identifier: string, payload: unknown): Promise<unknown>;
  addJobs(specs: Array<{ identifier: string; payload: unknown }>): Promise<unknown>;
  migrate(): Promise<void>;
  release(): Promise<void>;
}
interface Graphile {
  run(options: Record<string, unknown>): Promise<Runner>;
  makeWorkerUtils(options: Record<string, unknown>): Promise<WorkerUtils>;
  Logger: new (factory: () => (level: string, message: string) => void) => unknown;
}

async function system(params: Params): Promise<BenchSystem> {
  const gw = await loadPeer<Graphile>("graphile-worker");
  const url = params.pgUrl ?? DEFAULT_PG_URL;
  const batched = params.variant === "batched";
  const schema = pgSchema(url, batched ? "gwb" : "gw");
  let schemaName = schema.name;
  const logger = new gw.Logger(() => () => {});
  let utils: WorkerUtils | null = null;
  let sql: postgres.Sql | null = null;
  let enqueued = 0;
  let stops: Array<() => Promise<void>> = [];
  const preset = batched ? { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } } : undefined;
  const shared = () => ({ connectionString: url, schema: schemaName, logger, ...(preset ? { preset } : {}) });

  return {
    info: () => ({
      version: `graphile-worker ${peerVersion("graphile-worker")}`,
      runtime: runtimeName(),
      durability: "PostgreSQL fsync=on, synchronous_commit=on (server default; not changed by the library)",
      config: batched
        ? "concurrency c, localQueue.size 500, completeJobBatchDelay 0, failJobBatchDelay 0 (docs' performance config)"
        : "concurrency c, library defaults (preparedStatements on, no localQueue, no completion batching)",
    }),
    async setup(): Promise<Location> {
      utils = await gw.makeWorkerUtils(shared());
      await utils.migrate();
      sql = postgres(url, { max: 1, onnotice: () => {} });
      return { schema: schemaName };
    },
    async attach(location) {
      schemaName = location.schema as string;
      utils = await gw.makeWorkerUtils(shared());
    },
    async teardown() {
      for (const stop of stops) await stop();
      stops = [];
      await utils?.release();
      await sql?.end({ timeout: 5 });
      await schema.drop();
    },
    async enqueue(args) {
      await utils!.addJob("noop", args);
      enqueued++;
    },
    async enqueueMany(items) {
      await utils!.addJobs(items.map((payload) => ({ identifier: "noop", payload })));
      enqueued += items.length;
    },
    async startWorkers(c, handler) {
      const runner = await gw.run({
        ...shared(),
        concurrency: c,
        noHandleSignals: true,
        taskList: { noop: async (payload: unknown) => handler(payload as { i: number; t?: number }) },
      });
      return registerStop(stops, () => runner.stop());
    },
    async completed() {
      // Completed jobs are deleted: completions = enqueued − rows left.
      const rows = await sql!.unsafe<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM "${schemaName}"._private_jobs`);
      return enqueued - rows[0]!.n;
    },
  };
}

await runSystem("graphile-worker", system);
