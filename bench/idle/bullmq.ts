/**
 * BullMQ, idle: one `Worker` on one queue, defaults (checked in its dist/esm/classes/worker.js): concurrency 1, a
 * blocking `BZPOPMIN` that times out every `drainDelay` 5 s, the stalled-jobs check every 30 s. Its two Redis
 * connections (blocking and commands) are to the Redis the orchestrator found; the orchestrator deletes the
 * queue's keys afterwards.
 */
import { loadPeer, peerVersion } from "../lib/harness.ts";
import { idleParams, idleUntilTerminated } from "./child.ts";

interface BullWorker {
  waitUntilReady(): Promise<unknown>;
  on(event: string, fn: (...args: unknown[]) => void): void;
  close(): Promise<void>;
}

const { redisUrl = "redis://127.0.0.1:6379", queue = "idle" } = idleParams();
const url = new URL(redisUrl);
const connection = { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
const { Worker } = await loadPeer<{ Worker: new (name: string, fn: () => Promise<unknown>, opts: Record<string, unknown>) => BullWorker }>("bullmq");
const worker = new Worker(queue, async () => null, { connection });
worker.on("error", (error) => console.error("bullmq:", (error as Error).message));
await worker.waitUntilReady();

await idleUntilTerminated(
  {
    version: `bullmq ${peerVersion("bullmq")} (ioredis ${peerVersion("ioredis")})`,
    config: "one Worker, defaults: concurrency 1, blocking BZPOPMIN with drainDelay 5 s, stalled check 30 s",
  },
  () => worker.close(),
);
