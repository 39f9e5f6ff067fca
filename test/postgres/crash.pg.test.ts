import { describe, expect, test } from "bun:test";
import { connect } from "../../src/index.ts";
import { eventually } from "../support/helpers.ts";
import { pgAvailable } from "../support/postgres.ts";
import { audit, jobStates, useCluster } from "./fixtures/cluster.ts";

const missing = !(await pgAvailable());
const JOBS = 6_000;

describe.skipIf(missing)("postgres: a node SIGKILLed mid-drain", () => {
  const cluster = useCluster();
  const { sql } = cluster;

  test("its jobs come back through the survivors' sweep; each completes exactly once; the killed attempts are crashed", async () => {
    const { schema } = cluster;
    const fw = await connect(schema.url);
    await fw.migrate();
    // Jobs that take a little while, so the victim always holds a full set of in-flight attempts when it dies.
    await fw.insertMany(Array.from({ length: JOBS }, (_, n) => ({ kind: "sleep", args: { n, ms: 10 } })));

    const started = performance.now();
    // A 2 s lease (renewed every ~667 ms) and a 250 ms sweep: an orphaned job is back within ~2.5 s.
    const env = { CONCURRENCY: "16", LEASE: "2s", SWEEP: "250ms" };
    const nodes = await cluster.spawn(4, schema.url, "crash", env);
    const victim = nodes[0]!;

    const held = async () => {
      const [row] = await sql.unsafe(
        `SELECT count(*)::int AS n FROM "${schema.name}".job_runs WHERE executor_id = $1 AND outcome = 'started'`,
        [victim.executorId],
      );
      return row!.n as number;
    };
    await eventually("the victim to hold attempts a quarter into the drain", async () => {
      const states = await jobStates(sql, schema.name);
      return (states.succeeded ?? 0) >= JOBS / 4 && (await held()) > 0;
    }, 60_000, 20);
    victim.proc.kill("SIGKILL");
    await victim.proc.exited;
    const killedAt = new Date();
    const orphaned = await held();
    expect(orphaned).toBeGreaterThan(0);

    await eventually("every job to succeed", async () => (await jobStates(sql, schema.name)).succeeded === JOBS, 90_000, 100);
    const totalMs = performance.now() - started;
    expect(await Promise.all(nodes.slice(1).map((n) => n.stop()))).toEqual([0, 0, 0]);

    const summary = await audit(sql, schema.name);
    expect(summary).toMatchObject({ jobs: JOBS, succeeded: JOBS, jobsWithoutExactlyOneSuccess: 0, overlappingRuns: 0, openRuns: 0 });
    // The only non-success runs are the victim's attempts that were in flight when it died (counted from the
    // database rather than `orphaned`: a COMMIT the victim sent just before dying may land a moment later).
    const victimRuns = await sql.unsafe(
      `SELECT outcome, count(*)::int AS n, min(finished_at) AS first_finished FROM "${schema.name}".job_runs
       WHERE executor_id = $1 GROUP BY outcome`,
      [victim.executorId],
    );
    const crashed = victimRuns.find((r) => r.outcome === "crashed")!;
    expect(crashed.n).toBeGreaterThan(0);
    expect(summary.outcomes).toEqual({ success: JOBS, crashed: crashed.n });
    // Swept only after the lease ran out, never while it could still have been renewed.
    expect((crashed.first_finished as Date).getTime()).toBeGreaterThan(killedAt.getTime());
    // The swept jobs ran again elsewhere, as attempt 2.
    const [retried] = await sql.unsafe(
      `SELECT count(*)::int AS n FROM "${schema.name}".job_runs r JOIN "${schema.name}".job_runs c
         ON c.job_id = r.job_id AND c.outcome = 'crashed'
       WHERE r.outcome = 'success' AND r.attempt = c.attempt + 1 AND r.executor_id <> $1`,
      [victim.executorId],
    );
    expect(retried!.n).toBe(crashed.n);
    const sweeps = nodes.slice(1).filter((n) => n.log().includes("reclaimed expired leases"));
    expect(sweeps.length).toBeGreaterThan(0);
    console.log(`crash: ${JOBS} jobs, ${crashed.n} orphaned by SIGKILL and reclaimed; drained in ${Math.round(totalMs)} ms`);
  }, 120_000);
});
