/**
 * bunqueue, idle: embedded mode on a SQLite `dataPath`, one `Queue` and one `Worker`, defaults (checked in its
 * dist/client/worker/runtime/options.js and polling.js): concurrency 1, an empty pull waits `drainDelay` 50 ms before
 * the next, heartbeat every 10 s; its in-process manager runs its own cleanup, stall and lock checks.
 */
import { loadPeer, peerVersion } from "../lib/harness.ts";
import { idleParams, idleUntilTerminated } from "./child.ts";

interface Bunqueue {
  Queue: new (name: string, opts: Record<string, unknown>) => { close(): void | Promise<void> };
  Worker: new (name: string, fn: () => Promise<unknown>, opts: Record<string, unknown>) => { close(force?: boolean): Promise<void> };
  shutdownManager(): void;
}

const { file } = idleParams();
if (!file) throw new Error("bunqueue: params.file is required");
// The embedded manager is a process-wide singleton that reads its data path from the environment when first used.
process.env.BUNQUEUE_DATA_PATH = file;
const bq = await loadPeer<Bunqueue>("bunqueue/client");
const queue = new bq.Queue("idle", { embedded: true, dataPath: file });
const worker = new bq.Worker("idle", async () => null, { embedded: true, dataPath: file });

await idleUntilTerminated(
  {
    version: `bunqueue ${peerVersion("bunqueue")}`,
    config: "embedded, SQLite dataPath; one Queue + Worker, defaults: concurrency 1, empty pull → next after drainDelay 50 ms, heartbeat 10 s",
  },
  async () => {
    await worker.close();
    await queue.close();
    bq.shutdownManager();
  },
);
