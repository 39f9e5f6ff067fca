/**
 * bunqueue (npm `bunqueue`) in embedded mode with a SQLite `dataPath`. Its source (persistence/schema.js)
 * sets WAL + `synchronous=NORMAL`, like flywheel's default. By default `add()` goes through an in-memory
 * write buffer flushed every 10 ms or 100 jobs (a job is not on disk when `add` resolves); the `durable`
 * variant passes `{ durable: true }` so each add is written before it resolves — equal durability with
 * flywheel — and is the one compared. Claims and completions are written to SQLite as they happen; the queue
 * itself lives in memory. Embedded mode is one process only, so there is no cross-process latency figure.
 */
import { Database } from "bun:sqlite";
import { loadPeer, peerVersion, runSystem, runtimeName, type BenchSystem, type Location, type Params, registerStop } from "../lib/harness.ts";
import { sqliteDir } from "../lib/stores.ts";

interface BqQueue {
  add(name: string, data: unknown, opts?: Record<string, unknown>): Promise<unknown>;
  addBulk(jobs: Array<{ name: string; data: unknown; opts?: Record<string, unknown> }>): Promise<unknown>;
  close(): void | Promise<void>;
}
interface BqWorker {
  close(force?: boolean): Promise<void>;
  waitUntilReady?(): Promise<void>;
}
interface Bunqueue {
  Queue: new (name: string, opts: Record<string, unknown>) => BqQueue;
  Worker: new (name: string, fn: (job: { data: unknown }) => Promise<unknown>, opts: Record<string, unknown>) => BqWorker;
  shutdownManager(): void;
}

async function system(params: Params): Promise<BenchSystem> {
  const durable = params.variant !== "buffered";
  let dir: ReturnType<typeof sqliteDir> | null = null;
  let bq!: Bunqueue;
  let queue: BqQueue | null = null;
  let counter: Database | null = null;
  let stops: Array<() => Promise<void>> = [];
  const jobOpts = durable ? { durable: true } : {};

  return {
    info: () => ({
      version: `bunqueue ${peerVersion("bunqueue")}`,
      runtime: runtimeName(),
      durability: durable
        ? "SQLite WAL, synchronous=NORMAL; add({ durable: true }) writes through"
        : "SQLite WAL, synchronous=NORMAL; adds buffered in memory up to 10 ms / 100 jobs (weaker)",
      config: `embedded, Worker concurrency c${durable ? ", durable adds" : ", default buffered adds"}; no per-attempt audit trail`,
    }),
    async setup(): Promise<Location> {
      dir = sqliteDir("bunqueue");
      process.env.BUNQUEUE_DATA_PATH = dir.file;
      bq = await loadPeer<Bunqueue>("bunqueue/client");
      queue = new bq.Queue("bench", { embedded: true, dataPath: dir.file });
      await queue.add("warmup", {}, { ...jobOpts, removeOnComplete: true });
      counter = new Database(dir.file, { readonly: true });
      return { file: dir.file };
    },
    async teardown() {
      for (const stop of stops) await stop();
      stops = [];
      counter?.close(false);
      await queue?.close();
      try {
        bq?.shutdownManager();
      } catch {
        // Already shut down.
      }
      dir?.remove();
    },
    async enqueue(args) {
      await queue!.add("noop", args, jobOpts);
    },
    async enqueueMany(items) {
      await queue!.addBulk(items.map((data) => ({ name: "noop", data, opts: jobOpts })));
    },
    async startWorkers(c, handler) {
      const worker = new bq.Worker(
        "bench",
        async (job) => {
          const data = job.data as { i?: number; t?: number };
          if (typeof data.i === "number") handler(data as { i: number; t?: number });
          return null;
        },
        { embedded: true, dataPath: dir!.file, concurrency: c },
      );
      return registerStop(stops, () => worker.close());
    },
    async completed() {
      return (counter!.query("SELECT count(*) AS n FROM jobs WHERE state = 'completed' AND name = 'noop'").get() as { n: number }).n;
    },
  };
}

await runSystem("bunqueue", system);
