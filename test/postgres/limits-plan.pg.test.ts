/**
 * The claim under limits keeps the plain claim's plan shape (SPEC §15): with limits and a paused queue configured,
 * every statement of the limited path reads `jobs` through an index, never a sequential scan of the backlog.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type Flywheel } from "../../src/index.ts";
import { claimStatement, limitCandidatesStatement } from "../../src/driver/postgres/claim.ts";
import { PostgresDriver } from "../../src/driver/postgres/index.ts";
import { limitUsageSql } from "../../src/driver/postgres/limits.ts";
import type { SqlStatement } from "../../src/driver/postgres/params.ts";
import { schemaNames } from "../../src/driver/postgres/tables.ts";
import type { ClaimParams } from "../../src/driver/types.ts";
import { newId } from "../../src/core/id.ts";
import { pgAvailable, throwawaySchema, type ThrowawaySchema } from "../support/postgres.ts";
import { explainStatement, type PlanNode, walkPlan as walk } from "../support/postgres-explain.ts";

const missing = !(await pgAvailable());
const BACKLOG = 30_000;


describe.skipIf(missing)(`postgres: the claim under limits and a paused queue reads a ${BACKLOG.toLocaleString("en")}-row backlog through indexes`, () => {
  let schema: ThrowawaySchema;
  let fw: Flywheel;
  let driver: PostgresDriver;
  let sampleIds: string[];

  beforeAll(async () => {
    schema = throwawaySchema();
    fw = await connect(schema.url);
    await fw.migrate();
    if (!(fw.driver instanceof PostgresDriver)) throw new Error("expected the PostgreSQL driver");
    driver = fw.driver;
    const inserted = await fw.insertMany(
      Array.from({ length: BACKLOG }, (_, n) => ({
        kind: ["a", "b", "c"][n % 3]!,
        args: { n },
        options: { queue: ["default", "mail", "paused"][n % 4 === 0 ? 2 : n % 2]!, priority: [100, 50][n % 2] },
      })),
    );
    sampleIds = inserted.slice(0, 16);
    // Some jobs running, as the limits count them.
    await driver.jobClaim({ queues: ["default"], executorClasses: null, limit: 200, now: new Date(), leasedUntil: new Date(Date.now() + 60_000), leaseToken: newId(), executorId: "explain" });
    await fw.setLimit({ kind: "a" }, { concurrency: 5 });
    await fw.setLimit({ queue: "mail" }, { concurrency: 50, rate: "10/1m" });
    await fw.pauseQueue("paused");
    await driver.sql.unsafe(`ANALYZE "${schema.name}".jobs`);
  }, 60_000);

  afterAll(async () => {
    await fw?.close();
    await schema?.drop();
  });

  const base = (over: Partial<ClaimParams>): ClaimParams => ({
    queues: null,
    executorClasses: null,
    limit: 16,
    now: new Date(),
    leasedUntil: new Date(Date.now() + 30_000),
    leaseToken: newId(),
    executorId: "explain",
    ...over,
  });
  const names = () => schemaNames(schema.name);

  const statements: Array<[string, () => SqlStatement]> = [
    ["the usage read", () => ({ text: limitUsageSql(names()), params: [new Date()] })],
    ["the walk of every queue, a spent kind and queue left out", () => limitCandidatesStatement(names(), base({}), { kinds: ["a"], queues: ["mail"] })],
    ["the walk of two queues, a spent kind left out", () => limitCandidatesStatement(names(), base({ queues: ["default", "paused"] }), { kinds: ["a"], queues: [] })],
    ["the claim of the ids the walk kept", () => claimStatement(names(), base({ ids: sampleIds }), { gate: false })],
    ["the plain claim, gated", () => claimStatement(names(), base({}))],
  ];

  for (const [name, statement] of statements) {
    for (const generic of [false, true]) {
      test(`${name}: ${generic ? "generic" : "custom"} plan scans jobs only through its indexes`, async () => {
        const plan = JSON.parse(await explainStatement(driver, statement(), { format: "json", generic }))[0].Plan as PlanNode;
        const jobScans = [...walk(plan)].filter((n) => n["Relation Name"] === "jobs" && n["Node Type"].endsWith("Scan"));
        expect(jobScans.length).toBeGreaterThan(0);
        expect(jobScans.filter((n) => !["Index Scan", "Index Only Scan", "Bitmap Heap Scan"].includes(n["Node Type"]))).toEqual([]);
        const indexes = [...walk(plan)].filter((n) => n["Index Name"] !== undefined && n["Node Type"] !== "Bitmap Heap Scan").map((n) => n["Index Name"]!);
        expect(indexes.filter((i) => !["jobs_ready", "jobs_pkey", "jobs_sweep", "job_limits_pkey", "job_queues_pkey", "job_limit_starts_key"].includes(i))).toEqual([]);
      });
    }
  }
});
