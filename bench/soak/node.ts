/**
 * One soak node, in its own OS process: `bun bench/soak/node.ts <database-url> <executor-id> <attempt-log>`.
 *
 * It works `noop` jobs (the bulk; each attempt appends its interval to `<attempt-log>`, see attempt-log.ts) and
 * `shell` jobs (flywheel's command worker, as a daemon would run it) on queue `default` with two runners, a short
 * lease and a frequent sweep, so a killed sibling's jobs come back within seconds. It prints `ready <pid>` once
 * its node runs; on SIGTERM it drains, prints `drained {outcomes, drainMs, closeMs}` and exits 0. Logs (warnings and errors:
 * sweeps, lost connections, back-offs) go to stderr, which the driver sends to a file.
 * Env: SOAK_LEASE_MS (default 2000).
 */
import { connect, createLogger, defineWorker } from "../../src/index.ts";
import { shellWorker } from "../../src/workers/index.ts";
import { AttemptLog } from "./attempt-log.ts";

const [url, executorId, attemptLogPath] = process.argv.slice(2);
if (!url || !executorId || !attemptLogPath) {
  console.error("usage: bun bench/soak/node.ts <database-url> <executor-id> <attempt-log>");
  process.exit(2);
}
const leaseMs = Number(process.env.SOAK_LEASE_MS ?? 2_000);
// Failed or swept attempts come back quickly, so a run with hundreds of kills still drains in one sitting.
const backoff = { base: "50ms", cap: "500ms" };

const attempts = new AttemptLog(attemptLogPath);
const fw = await connect(url, { executorId, logger: createLogger({ level: "warn" }) });

fw.register(
  defineWorker({
    kind: "noop",
    async work(job) {
      const start = process.hrtime.bigint();
      // One turn of the event loop inside the attempt: its interval then spans real scheduling (lease renewals,
      // other attempts, finalizes), so a second attempt running at the same time would show as an overlap.
      await new Promise<void>((resolve) => setImmediate(resolve));
      attempts.record(job.id, (job.args as { n: number }).n, job.attempt, start, process.hrtime.bigint());
    },
  }),
  // killGraceMs is short so a terminated group (timeout, cancel, lost lease) is gone quickly; the watchdog of a
  // SIGKILLed node rounds it up to 1 s.
  shellWorker({ envAllowlist: ["PATH"], killGraceMs: 500 }),
);

// What this process saw finish, by outcome (a superseded attempt is one whose lease was lost under it).
const finished: Record<string, number> = {};
fw.events.on("job:finished", (e) => {
  finished[e.outcome] = (finished[e.outcome] ?? 0) + 1;
});

const stop = new AbortController();
let stopAsked = 0;
process.on("SIGTERM", () => {
  stopAsked = performance.now();
  stop.abort();
});
const runner = { queues: ["default"], concurrency: 8, lease: leaseMs, pollInterval: "100ms", backoff };
const node = fw.node({
  runners: [runner, runner],
  scheduler: { sweepInterval: "500ms", backoff },
  drainTimeout: "20s",
});
const running = node.run(stop.signal);
console.log(`ready ${process.pid}`);
let drainMs = 0;
try {
  await running;
  drainMs = performance.now() - stopAsked;
} finally {
  await fw.close();
  attempts.close();
}
const closeMs = performance.now() - stopAsked - drainMs;
console.log(`drained ${JSON.stringify({ outcomes: finished, drainMs: Math.round(drainMs), closeMs: Math.round(closeMs) })}`);
