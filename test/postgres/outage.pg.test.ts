import { describe, expect, test } from "bun:test";
import { connect } from "../../src/index.ts";
import { eventually } from "../support/helpers.ts";
import { pgAvailable } from "../support/postgres.ts";
import { audit, jobStates, useCluster } from "./fixtures/cluster.ts";

const missing = !(await pgAvailable());
const JOBS = 20_000;

describe.skipIf(missing)("postgres: connections terminated mid-drain", () => {
  const cluster = useCluster();
  const { sql } = cluster;

  test("nodes log, back off and recover; no job is lost or succeeds twice", async () => {
    const { schema } = cluster;
    const fw = await connect(schema.url);
    await fw.migrate();
    await fw.insertMany(Array.from({ length: JOBS }, (_, n) => ({ kind: "noop", args: { n } })));
    await fw.close();

    // The nodes' connections (pool and LISTEN) carry this application_name, so only they are terminated.
    const app = `fw_outage_${schema.name.slice(-12)}`;
    const url = `${schema.url}&application_name=${app}`;
    // A short lease and sweep bring back a claim whose reply was lost with its connection.
    const env = { CONCURRENCY: "16", LEASE: "2s", SWEEP: "250ms" };
    const started = performance.now();
    const nodes = await cluster.spawn(4, url, "outage", env);

    let terminated = 0;
    for (const fraction of [0.1, 0.4, 0.7]) {
      await eventually(`${fraction * 100}% of the jobs to succeed`, async () => ((await jobStates(sql, schema.name)).succeeded ?? 0) >= JOBS * fraction, 60_000, 10);
      const rows = await sql.unsafe(
        "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
        [app],
      );
      terminated += rows.filter((r) => r.ok).length;
    }
    expect(terminated).toBeGreaterThan(3);

    await eventually("every job to succeed", async () => (await jobStates(sql, schema.name)).succeeded === JOBS, 90_000, 100);
    const totalMs = performance.now() - started;
    const codes = await Promise.all(nodes.map((n) => n.stop()));
    if (codes.some((c) => c !== 0)) console.error(nodes.map((n) => `--- ${n.executorId}\n${n.log()}`).join("\n"));
    expect(codes).toEqual([0, 0, 0, 0]);

    const summary = await audit(sql, schema.name);
    expect(summary).toMatchObject({ jobs: JOBS, succeeded: JOBS, jobsWithoutExactlyOneSuccess: 0, overlappingRuns: 0, openRuns: 0 });
    // A claim whose reply died with its connection leaves a `crashed` stub after the sweep, never a second success.
    const { success, crashed = 0, ...others } = summary.outcomes;
    expect(success).toBe(JOBS);
    expect(others).toEqual({});

    // The nodes noticed: database errors were logged once per back-off rung, and recovery was logged.
    const logs = nodes.map((n) => n.log()).join("\n");
    expect(logs).toMatch(/ERROR jobs: (claim|finalize) failed/);
    expect(logs).toMatch(/jobs: (claim|finalize) failed: recovered/);
    const errorLines = logs.split("\n").filter((l) => l.includes(" ERROR ")).length;
    console.log(
      `outage: ${terminated} backends terminated in 3 rounds; ${JOBS} jobs drained in ${Math.round(totalMs)} ms; ` +
        `${crashed} lost claims swept; ${errorLines} error log lines across 4 nodes`,
    );
  }, 120_000);
});
