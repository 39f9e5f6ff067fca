/**
 * BullMQ (npm `bullmq`, Redis backend via ioredis), under Bun. Durability is Redis's, not the library's:
 * the report states the server's `appendonly`/`appendfsync`/`save` as read with CONFIG GET. With the
 * machine's Redis (no AOF, no RDB snapshots) a job lives only in memory — not equal durability with any
 * database-backed row here. Variant `aof` runs against a Redis that `bench/run.ts` starts with
 * `--appendonly yes --appendfsync always` (fsync per write, the closest to a committed row).
 * Worker concurrency c; completed jobs are kept (BullMQ's default) and counted.
 */
import { loadPeer, peerVersion, runSystem, runtimeName, skip, suffix, type BenchSystem, type Location, type Params, registerStop } from "../lib/harness.ts";

interface BullQueue {
  add(name: string, data: unknown): Promise<unknown>;
  addBulk(jobs: Array<{ name: string; data: unknown }>): Promise<unknown>;
  getCompletedCount(): Promise<number>;
  obliterate(opts: { force: boolean }): Promise<void>;
  close(): Promise<void>;
  waitUntilReady(): Promise<unknown>;
}
interface BullWorker {
  close(force?: boolean): Promise<void>;
  waitUntilReady(): Promise<unknown>;
  on(event: string, fn: (...args: unknown[]) => void): void;
}
interface BullMQ {
  Queue: new (name: string, opts: Record<string, unknown>) => BullQueue;
  Worker: new (name: string, fn: (job: { data: unknown }) => Promise<unknown>, opts: Record<string, unknown>) => BullWorker;
}
interface RedisClient {
  config(op: string, key: string): Promise<string[]>;
  quit(): Promise<unknown>;
}

async function system(params: Params): Promise<BenchSystem> {
  const redisUrl = new URL(params.redisUrl ?? "redis://127.0.0.1:6379");
  const connection = { host: redisUrl.hostname, port: Number(redisUrl.port || 6379), maxRetriesPerRequest: null };
  const bull = await loadPeer<BullMQ>("bullmq");
  const IORedis = (await loadPeer<{ default: new (o: Record<string, unknown>) => RedisClient }>("ioredis")).default;
  let name = `bench_${suffix()}`;
  let queue: BullQueue | null = null;
  let durability = "unknown";
  let stops: Array<() => Promise<void>> = [];

  const probe = new IORedis({ ...connection, lazyConnect: false, retryStrategy: () => null });
  try {
    const [, appendonly] = await probe.config("GET", "appendonly");
    const [, appendfsync] = await probe.config("GET", "appendfsync");
    const [, save] = await probe.config("GET", "save");
    durability = `Redis appendonly=${appendonly}${appendonly === "yes" ? ` appendfsync=${appendfsync}` : ""}, save="${save}"` +
      (appendonly === "yes" && appendfsync === "always" ? " (fsync per write)" : " (jobs in memory only until a snapshot: weaker than a committed row)");
  } catch (error) {
    throw skip(`Redis not reachable at ${redisUrl.host}: ${(error as Error).message}`);
  } finally {
    await probe.quit().catch(() => {});
  }

  return {
    info: () => ({
      version: `bullmq ${peerVersion("bullmq")} (ioredis ${peerVersion("ioredis")})`,
      runtime: runtimeName(),
      durability,
      config: "Worker concurrency c, defaults otherwise",
    }),
    async setup(): Promise<Location> {
      queue = new bull.Queue(name, { connection });
      await queue.waitUntilReady();
      return { name };
    },
    async attach(location) {
      name = location.name as string;
      queue = new bull.Queue(name, { connection });
      await queue.waitUntilReady();
    },
    async teardown() {
      for (const stop of stops) await stop();
      stops = [];
      await queue?.obliterate({ force: true }).catch(() => {});
      await queue?.close();
    },
    async enqueue(args) {
      await queue!.add("noop", args);
    },
    async enqueueMany(items) {
      await queue!.addBulk(items.map((data) => ({ name: "noop", data })));
    },
    async startWorkers(c, handler) {
      const worker = new bull.Worker(
        name,
        async (job) => {
          handler(job.data as { i: number; t?: number });
          return null;
        },
        { connection, concurrency: c },
      );
      worker.on("error", (error) => console.error("bullmq:", (error as Error).message));
      await worker.waitUntilReady();
      return registerStop(stops, () => worker.close());
    },
    async completed() {
      return queue!.getCompletedCount();
    },
  };
}

await runSystem("bullmq", system);
