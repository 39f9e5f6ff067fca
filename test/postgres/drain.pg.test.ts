import { describe, expect, test } from "bun:test";
import { connect } from "../../src/index.ts";
import { eventually } from "../support/helpers.ts";
import { pgAvailable } from "../support/postgres.ts";
import { audit, jobStates, runsByExecutor, useCluster } from "./fixtures/cluster.ts";

const missing = !(await pgAvailable());
const JOBS = 20_000;

describe.skipIf(missing)("postgres: four OS processes drain one schema", () => {
  const cluster = useCluster();
  const { sql } = cluster;

  test(`${JOBS} no-op jobs: every job exactly one success run, no overlapping attempts, none lost`, async () => {
    const { schema } = cluster;
    const fw = await connect(schema.url);
    await fw.migrate();
    const ids = await fw.insertMany(Array.from({ length: JOBS }, (_, n) => ({ kind: "noop", args: { n } })));
    expect(ids.skipped).toEqual([]);
    await fw.close();

    const started = performance.now();
    const nodes = await cluster.spawn(4, schema.url, "drain", { CONCURRENCY: "16" });
    await eventually("every job to succeed", async () => (await jobStates(sql, schema.name)).succeeded === JOBS, 90_000, 100);
    const drainMs = performance.now() - started;
    expect(await Promise.all(nodes.map((n) => n.stop()))).toEqual([0, 0, 0, 0]);

    expect(await jobStates(sql, schema.name)).toEqual({ succeeded: JOBS });
    expect(await audit(sql, schema.name)).toEqual({
      jobs: JOBS,
      succeeded: JOBS,
      jobsWithoutExactlyOneSuccess: 0,
      overlappingRuns: 0,
      openRuns: 0,
      outcomes: { success: JOBS },
    });
    // Every process took part: the work was shared, not drained by one while the others idled.
    const byExecutor = await runsByExecutor(sql, schema.name);
    expect(Object.keys(byExecutor).sort()).toEqual(["drain-0", "drain-1", "drain-2", "drain-3"]);
    console.log(`drain: ${JOBS} jobs by 4 processes x 16 in ${Math.round(drainMs)} ms (incl. process start); per node ${JSON.stringify(byExecutor)}`);
  }, 120_000);
});
