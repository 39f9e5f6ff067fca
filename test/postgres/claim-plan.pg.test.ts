import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type Flywheel } from "../../src/index.ts";
import { PostgresDriver } from "../../src/driver/postgres/index.ts";
import type { ClaimParams } from "../../src/driver/types.ts";
import { newId } from "../../src/core/id.ts";
import { pgAvailable, throwawaySchema, type ThrowawaySchema } from "../support/postgres.ts";
import { explainClaim, type PlanNode, walkPlan as walk } from "../support/postgres-explain.ts";

const missing = !(await pgAvailable());
const BACKLOG = 100_000;


/** Scans of `jobs` feeding `node` through its input (not its CTEs and sub-plans) without a Limit in between. */
function unboundedJobScans(node: PlanNode): PlanNode[] {
  const found: PlanNode[] = [];
  const visit = (n: PlanNode) => {
    if (n["Node Type"] === "Limit") return;
    if (n["Relation Name"] === "jobs" && n["Node Type"].endsWith("Scan")) found.push(n);
    for (const child of n.Plans ?? []) {
      if (child["Parent Relationship"] === "InitPlan" || child["Parent Relationship"] === "SubPlan") continue;
      visit(child);
    }
  };
  for (const child of node.Plans ?? []) {
    if (child["Parent Relationship"] !== "InitPlan" && child["Parent Relationship"] !== "SubPlan") visit(child);
  }
  return found;
}

describe.skipIf(missing)(`postgres: the claim is an index walk over a ${BACKLOG.toLocaleString("en")}-row backlog`, () => {
  let schema: ThrowawaySchema;
  let fw: Flywheel;
  let driver: PostgresDriver;

  beforeAll(async () => {
    schema = throwawaySchema();
    fw = await connect(schema.url);
    await fw.migrate();
    if (!(fw.driver instanceof PostgresDriver)) throw new Error("expected the PostgreSQL driver");
    driver = fw.driver;
    // A realistic mix: two queues, three priorities, two executor classes, some jobs not yet due.
    const now = Date.now();
    const ids = await fw.insertMany(
      Array.from({ length: BACKLOG }, (_, n) => ({
        kind: "noop",
        args: { n },
        options: {
          queue: n % 4 === 0 ? "periodic" : "default",
          priority: [100, 50, 200][n % 3],
          executorClass: n % 5 === 0 ? "gpu" : "",
          scheduleAt: n % 10 === 0 ? new Date(now + 3_600_000) : undefined,
        },
      })),
    );
    expect(ids.skipped).toEqual([]);
    await driver.sql.unsafe(`ANALYZE "${schema.name}".jobs`);
  }, 60_000);

  afterAll(async () => {
    await fw?.close();
    await schema?.drop();
  });

  const base = (over: Partial<ClaimParams>): ClaimParams => ({
    queues: ["default"],
    executorClasses: ["", "cpu"],
    limit: 16,
    now: new Date(),
    leasedUntil: new Date(Date.now() + 30_000),
    leaseToken: newId(),
    executorId: "explain",
    ...over,
  });

  const cases: Array<[string, Partial<ClaimParams>]> = [
    ["one queue, the runner's class plus unclassed jobs", {}],
    ["one queue, any class", { executorClasses: null }],
    ["two queues", { queues: ["default", "periodic"] }],
    ["every queue, any class (runUntilIdle)", { queues: null, executorClasses: null }],
  ];

  for (const [name, over] of cases) {
    for (const generic of [false, true]) {
      test(`${name}: ${generic ? "generic" : "custom"} plan walks jobs_ready and sorts no backlog`, async () => {
        const plan = JSON.parse(await explainClaim(driver, base(over), { format: "json", generic }))[0].Plan as PlanNode;
        const nodes = [...walk(plan)];
        const jobScans = nodes.filter((n) => n["Relation Name"] === "jobs" && n["Node Type"].endsWith("Scan"));
        // Never a sequential or bitmap scan of jobs: the pick uses jobs_ready, the update the primary key.
        expect(jobScans.map((n) => n["Node Type"]).filter((t) => t !== "Index Scan" && t !== "Index Only Scan")).toEqual([]);
        expect(jobScans.map((n) => n["Index Name"]).every((i) => i === "jobs_ready" || i === "jobs_pkey")).toBe(true);
        const picked = nodes.find((n) => n["Subplan Name"] === "CTE picked")!;
        const pickScans = [...walk(picked)].filter((n) => n["Relation Name"] === "jobs" && n["Node Type"].endsWith("Scan"));
        expect(pickScans.length).toBeGreaterThan(0);
        expect(pickScans.every((n) => n["Index Name"] === "jobs_ready")).toBe(true);
        // The rows come off the index already ordered and locked one by one under the LIMIT.
        expect([...walk(picked)].some((n) => n["Node Type"] === "LockRows")).toBe(true);
        // Any Sort (merging per-queue candidates, ordering the claimed few) sits above a Limit, never on the backlog.
        for (const sort of nodes.filter((n) => n["Node Type"] === "Sort")) expect(unboundedJobScans(sort)).toEqual([]);
      });
    }
  }

  test("claiming from the backlog takes the first jobs in (priority, scheduled_at, id) order", async () => {
    const params = base({});
    const expected = await driver.sql.unsafe(
      `SELECT id FROM "${schema.name}".jobs
       WHERE queue = 'default' AND executor_class IN ('', 'cpu') AND scheduled_at <= $1 AND state IN ('available', 'scheduled', 'retryable')
       ORDER BY priority, scheduled_at, id LIMIT 16`,
      [params.now],
    );
    const claimed = await driver.jobClaim(params);
    expect(claimed.map((j) => j.id)).toEqual(expected.map((r) => r.id as string));
    expect(new Set(claimed.map((j) => j.runId)).size).toBe(16);
  });
});
