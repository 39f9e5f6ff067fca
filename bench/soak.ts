/**
 * The chaos soak (issue #11): many jobs, several node processes, and things going wrong on purpose, then a
 * check of every invariant flywheel promises about attempts. A benchmark-style tool, not a test: run it by hand.
 *
 *   bun bench/soak.ts --driver sqlite|postgres [--jobs N] [--nodes K] [--chaos] [--seed S] [--keep]
 *
 * It creates a fresh database (SQLite: a temporary file; PostgreSQL: a private server of its own, started with
 * initdb/pg_ctl on a free port, so restarting it disturbs nobody), inserts N jobs (`noop`, and one `shell` job in
 * 2,000), starts K node processes (bench/soak/node.ts) and, with --chaos, keeps killing and replacing them while
 * jobs remain, restarting PostgreSQL too. When every job is terminal it stops the nodes with SIGTERM, runs a final
 * sweep, and checks: (1) every job exactly one success, (2) no overlapping attempts, by the jobs' own logs and by
 * job_runs, (3) no `started` run for a job that is not running, (4) no process left behind. It prints the figures
 * and exits 1 if anything was violated. --keep keeps the temporary directory (database, logs) for inspection.
 * Linux only: it reads /proc and CLOCK_MONOTONIC, and runs PostgreSQL's own binaries as the `postgres` user.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "../src/index.ts";
import { openJobs, postgresAudit, sqliteAudit, type AuditDb } from "./soak/audit-db.ts";
import { monotonicNs } from "./soak/attempt-log.ts";
import { Chaos, seededRandom } from "./soak/chaos.ts";
import { Fleet } from "./soak/fleet.ts";
import { auditSoak } from "./soak/invariants.ts";
import { commandLine, parseSoakOptions } from "./soak/options.ts";
import { startPostgres, type PostgresServer } from "./soak/postgres-server.ts";
import { seconds, summaryLines, type RunFigures } from "./soak/report.ts";
import { insertWorkload } from "./soak/workload.ts";

/** A progress line this often, so a long run shows life. */
const PROGRESS_EVERY_MS = 5_000;
/** How often the loop looks at the queue and lets the chaos act. */
const TICK_MS = 250;

let options;
try {
  options = parseSoakOptions(process.argv.slice(2));
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
const o = options;
const started = performance.now();
const say = (line: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(7)} s] ${line}`);

const dir = mkdtempSync(join(tmpdir(), `flywheel-soak-${o.driver}-`));
const token = `${process.pid}-${Date.now()}`;
let pg: PostgresServer | null = null;
let fleet: Fleet | null = null;
let db: AuditDb | null = null;

// Whatever happens (a failure, Ctrl-C), nothing of the run may outlive it: nodes, the private server, the files.
let cleanedUp = false;
function cleanup(): void {
  if (cleanedUp) return;
  cleanedUp = true;
  fleet?.killAll();
  pg?.stop();
  if (o.keep) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    cleanup();
    process.exit(130);
  });
}

let exitCode = 1;
try {
  say(`${commandLine(o)}  (dir ${dir})`);
  let url: string;
  if (o.driver === "postgres") {
    pg = await startPostgres(dir);
    url = pg.url;
    db = postgresAudit(url);
    say(`private PostgreSQL at ${url} (log ${pg.logPath})`);
  } else {
    url = `sqlite:${join(dir, "soak.db")}`;
  }
  const random = seededRandom(o.seed);
  const workload = await insertWorkload({ url, dir, jobs: o.jobs, shellEvery: o.shellEvery, token, random, report: say });
  const insertMs = performance.now() - started;
  say(`inserted ${o.jobs.toLocaleString("en-US")} jobs in ${seconds(insertMs)}`);
  // Opened after the insert: bun:sqlite needs the file flywheel created.
  db ??= sqliteAudit(join(dir, "soak.db"));

  fleet = new Fleet({ url, dir, leaseMs: o.leaseMs, token, report: say }, o.nodes);
  const drainStarted = performance.now();
  const windowStartNs = Number(monotonicNs());
  await fleet.ready();
  say(`${o.nodes} nodes ready`);
  const chaos = o.chaos ? new Chaos({ random, fleet, dbRestarts: o.dbRestarts, restartDatabase: pg?.restart, report: say }) : null;
  const finished = await drain(db, fleet, chaos);
  await chaos?.settle();
  const drainMs = performance.now() - drainStarted;
  say(finished ? `every job is terminal after ${seconds(drainMs)}; stopping the nodes (SIGTERM)` : `gave up after ${o.timeoutSeconds} s; stopping the nodes`);
  await fleet.stopAll();
  const windowEndNs = Number(monotonicNs());

  // A final sweep, as any node's scheduler would run it: returns leases that expired under a dead node.
  const fw = await connect(url);
  const swept = await fw.scheduler({ backoff: { base: "50ms", cap: "500ms" } }).sweep();
  await fw.close();
  say(`final sweep reclaimed ${swept} jobs; auditing`);

  const window = { startNs: windowStartNs, endNs: windowEndNs };
  const audit = await auditSoak({ db, dir, expectedJobs: o.jobs, workload, token, nodeFailures: fleet.failures, window });
  const figures: RunFigures = {
    insertMs,
    drainMs,
    totalMs: performance.now() - started,
    nodeStarts: fleet.starts,
    chaos: chaos?.stats ?? { sigkills: 0, sigterms: 0, dbRestarts: 0, dbRestartLog: [] },
    drained: fleet.drainedTotals(),
  };
  console.log("");
  for (const line of summaryLines(o, figures, audit)) console.log(line);
  exitCode = audit.checks.some((c) => c.violations > 0) ? 1 : 0;
} catch (error) {
  console.error(`soak failed: ${(error as Error).stack ?? error}`);
  exitCode = 1;
} finally {
  await db?.close().catch(() => {});
  cleanup();
}
process.exit(exitCode);

/**
 * Keeps the fleet up and lets the chaos act until no job is left open (or the timeout passes); returns whether
 * every job became terminal. A failed look at the queue (the database is restarting) is skipped, not fatal.
 */
async function drain(db: AuditDb, fleet: Fleet, chaos: Chaos | null): Promise<boolean> {
  const deadline = Date.now() + o.timeoutSeconds * 1000;
  let lastProgress = performance.now();
  let lastDone = 0;
  let done = 0;
  let open = { waiting: o.jobs, running: 0 };
  let lookedAt = 0;
  for (;;) {
    fleet.keepUp();
    if (performance.now() - lookedAt >= 1_000) {
      lookedAt = performance.now();
      try {
        open = await openJobs(db);
        done = o.jobs - open.waiting - open.running;
      } catch (error) {
        say(`queue unreadable (${(error as Error).message}); retrying`);
      }
      if (open.waiting + open.running === 0) return true;
    }
    chaos?.step(done / o.jobs);
    if (performance.now() - lastProgress >= PROGRESS_EVERY_MS) {
      const rate = ((done - lastDone) / (performance.now() - lastProgress)) * 1000;
      lastProgress = performance.now();
      lastDone = done;
      const stats = chaos?.stats;
      say(
        `done ${done.toLocaleString("en-US")}/${o.jobs.toLocaleString("en-US")} (${((done / o.jobs) * 100).toFixed(1)}%), ` +
          `${Math.round(rate).toLocaleString("en-US")} jobs/s, running ${open.running}, nodes up ${fleet.live.length}/${o.nodes}` +
          (stats ? `, kills ${stats.sigkills + stats.sigterms}, db restarts ${stats.dbRestarts}` : ""),
      );
    }
    if (Date.now() > deadline) return false;
    await Bun.sleep(TICK_MS);
  }
}
