/**
 * plainjob (npm `plainjob`) on bun:sqlite. Its source sets `journal_mode=WAL`, `synchronous=1` (NORMAL) and
 * `busy_timeout=5000` in `defineQueue` — the same durability as flywheel's default. A worker runs one job at a
 * time, so concurrency c = c workers on one queue and connection. It has no wake-up signal: workers poll, so
 * `pollIntervall` is set to 10 ms (default 1000 ms), matching flywheel's 10 ms cross-process wake poll.
 * No per-attempt audit trail (one row per job: status, error).
 */
import { Database } from "bun:sqlite";
import { loadPeer, peerVersion, runSystem, runtimeName, type BenchSystem, type Location, type Params, registerStop } from "../lib/harness.ts";
import { sqliteDir } from "../lib/stores.ts";

interface PlainQueue {
  add(type: string, data: unknown): { id: number };
  addMany(type: string, data: unknown[]): { ids: number[] };
  close(): void;
}
interface PlainWorker {
  start(): Promise<void>;
  stop(): Promise<void>;
}
interface Plainjob {
  bun(db: Database): unknown;
  defineQueue(opts: { connection: unknown; logger?: unknown }): PlainQueue;
  defineWorker(type: string, fn: (job: { data: string }) => Promise<void>, opts: { queue: PlainQueue; pollIntervall?: number; logger?: unknown }): PlainWorker;
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const POLL_MS = 10;

async function system(_params: Params): Promise<BenchSystem> {
  const pj = await loadPeer<Plainjob>("plainjob");
  let dir: ReturnType<typeof sqliteDir> | null = null;
  let queue: PlainQueue | null = null;
  let counter: Database | null = null;
  let stops: Array<() => Promise<void>> = [];

  const open = (file: string) => pj.defineQueue({ connection: pj.bun(new Database(file, { create: true, strict: true })), logger: silent });

  return {
    info: () => ({
      version: `plainjob ${peerVersion("plainjob")}`,
      runtime: runtimeName(),
      durability: "SQLite WAL, synchronous=NORMAL (set in defineQueue)",
      config: `c workers × 1 job each, pollIntervall ${POLL_MS} ms (default 1000); no audit trail`,
    }),
    async setup(): Promise<Location> {
      dir = sqliteDir("plainjob");
      queue = open(dir.file);
      counter = new Database(dir.file, { readonly: true });
      return { file: dir.file };
    },
    async attach(location) {
      queue = open(location.file as string);
    },
    async teardown() {
      for (const stop of stops) await stop();
      stops = [];
      counter?.close(false);
      queue?.close();
      dir?.remove();
    },
    async enqueue(args) {
      queue!.add("noop", args);
    },
    async enqueueMany(items) {
      queue!.addMany("noop", items);
    },
    async startWorkers(c, handler) {
      const workers = Array.from({ length: c }, () =>
        pj.defineWorker("noop", async (job) => handler(JSON.parse(job.data)), { queue: queue!, pollIntervall: POLL_MS, logger: silent }),
      );
      const running = workers.map((w) => w.start());
      const stop = async () => {
        await Promise.all(workers.map((w) => w.stop()));
        await Promise.allSettled(running);
      };
      return registerStop(stops, stop);
    },
    async completed() {
      return (counter!.query("SELECT count(*) AS n FROM plainjob_jobs WHERE status = 2").get() as { n: number }).n;
    },
  };
}

await runSystem("plainjob", system);
