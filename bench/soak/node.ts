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
import { writeSync } from "node:fs";
import { connect, createLogger, defineWorker } from "../../src/index.ts";
import { shellWorker } from "../../src/workers/index.ts";
import { AttemptLog, monotonicNs } from "./attempt-log.ts";

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
      const start = monotonicNs();
      // One turn of the event loop inside the attempt: its interval then spans real scheduling (lease renewals,
      // other attempts, finalizes), so a second attempt running at the same time would show as an overlap.
      await new Promise<void>((resolve) => setImmediate(resolve));
      attempts.record(job.id, (job.args as { n: number }).n, job.attempt, start, monotonicNs());
    },
  }),
  // killGraceMs is short so a terminated group (timeout, cancel, lost lease) is gone quickly; the watchdog of a
  // SIGKILLed node rounds it up to 1 s.
  shellWorker({ envAllowlist: ["PATH"], killGraceMs: 500 }),
);

// What this process saw finish, by outcome (a superseded attempt is one whose lease was lost under it), and
// which claimed jobs have not finished yet: if a SIGTERM drain ever hangs, the stall report names them.
const finished: Record<string, number> = {};
const unfinished = new Map<string, number>();
fw.events.on("job:claimed", (e) => unfinished.set(e.job.id, e.job.attempt));
fw.events.on("job:finished", (e) => {
  finished[e.outcome] = (finished[e.outcome] ?? 0) + 1;
  if (unfinished.get(e.job.id) === e.job.attempt) unfinished.delete(e.job.id);
});

const stop = new AbortController();
let stopAsked = 0;
let phase: "drain" | "close" = "drain";
process.on("SIGTERM", () => {
  if (stop.signal.aborted) return;
  stopAsked = performance.now();
  stop.abort();
  // A drain is bounded (drainTimeout) and a close should be quick: report a stall instead of hanging silently.
  setInterval(() => {
    const seconds = Math.round((performance.now() - stopAsked) / 1000);
    const held = [...unfinished].slice(0, 5).map(([id, attempt]) => `${id}#${attempt}`);
    console.error(`soak: still in ${phase} ${seconds} s after SIGTERM; ${unfinished.size} claimed attempts unfinished ${held.join(" ")}`);
  }, 10_000).unref();
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
  phase = "close";
  await fw.close();
  attempts.close();
}
const closeMs = performance.now() - stopAsked - drainMs;
// Written synchronously: the process exits right after.
writeSync(1, `drained ${JSON.stringify({ outcomes: finished, drainMs: Math.round(drainMs), closeMs: Math.round(closeMs) })}\n`);
// Exit explicitly, as `flywheel serve` does: after a PostgreSQL restart, postgres.js 3.4.9 can reopen its LISTEN
// connection after `end()` (a reconnect timer scheduled while the server refused connections survives the end,
// and that connection has no idle timeout), which would keep this process alive for ever. docs/SOAK-RESULTS.md
// has the evidence.
process.exit(0);
