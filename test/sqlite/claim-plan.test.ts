import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { connect, type Flywheel } from "../../src/index.ts";
import { FixedClock } from "../../src/core/clock.ts";
import type { SqliteDriver } from "../../src/driver/sqlite/index.ts";
import type { ClaimParams } from "../../src/driver/types.ts";
import { newId } from "../../src/core/id.ts";
import { tempDir } from "../support/helpers.ts";
import { EXPIRED_LEASES_SQL } from "../../src/driver/sqlite/lease.ts";
import { explain, explainClaim } from "../support/sqlite-explain.ts";

// The claim must stay an ordered walk of jobs_ready however the planner's statistics look: after ANALYZE
// (or PRAGMA optimize) SQLite otherwise prefers other indexes and sorts the whole backlog.
let fw: Flywheel;
let dir: Awaited<ReturnType<typeof tempDir>>;
const BACKLOG = 100_000;

beforeAll(async () => {
  dir = await tempDir();
  // One fixed instant for every row, as a bulk backfill gives: with it the statistics make the planner's
  // favourite a skip-scan of jobs_ready followed by a sort of everything it found.
  fw = await connect(`sqlite:${join(dir.path, "plan.db")}`, { clock: new FixedClock(new Date(Date.now() - 60_000)) });
  await fw.migrate();
  // The common shape that misleads the planner: nearly everything in one queue, one kind, one priority, so the
  // statistics rate `queue = ?` as unselective. A few jobs elsewhere keep the other queues non-empty.
  for (let start = 0; start < BACKLOG; start += 10_000) {
    await fw.insertMany(Array.from({ length: 10_000 }, () => ({ kind: "noop" })));
  }
  await fw.insertMany(["mail", "reports"].flatMap((queue) => Array.from({ length: 20 }, (_, i) => ({ kind: "noop", options: { queue, priority: i % 2 } }))));
  const driver = fw.driver as SqliteDriver;
  driver.db.run("ANALYZE");
}, 60_000);

afterAll(async () => {
  await fw.close();
  await dir.remove();
});

const claim = (queues: string[] | null, executorClasses: string[] | null = [""]): ClaimParams => ({
  queues,
  executorClasses,
  limit: 10,
  now: new Date(),
  leasedUntil: new Date(Date.now() + 30_000),
  leaseToken: newId(),
  executorId: "plan-test",
});

test.each([
  ["one queue", ["default"], [""]],
  ["one queue, any class", ["default"], null],
  ["three queues", ["default", "mail", "reports"], [""]],
] as const)("claim plan for %s walks jobs_ready and sorts at most the merged walks", async (_, queues, classes) => {
  const plan = explainClaim((fw.driver as SqliteDriver).db, claim([...queues], classes ? [...classes] : null));
  expect(plan).toContain("USING INDEX jobs_ready (queue=?)");
  expect(plan).not.toMatch(/SCAN jobs(?! USING)/);
  const walks = plan.split("\n").filter((line) => line.includes("jobs_ready")).length;
  expect(walks).toBe(queues.length);
  if (queues.length === 1) expect(plan).not.toContain("TEMP B-TREE");
});

test("a claim over every queue walks jobs_ready once per queue that has ready jobs", async () => {
  const plan = explainClaim((fw.driver as SqliteDriver).db, claim(null));
  expect(plan).not.toMatch(/SCAN jobs(?! USING)/);
  expect(plan.split("\n").filter((line) => line.includes("USING INDEX jobs_ready (queue=?)")).length).toBe(3);
});

test("after ANALYZE a claim still takes the queue's first jobs in priority order", async () => {
  const jobs = await fw.driver.jobClaim(claim(["mail", "default"]));
  expect(jobs).toHaveLength(10);
  expect(jobs.every((j) => j.queue === "mail" && j.priority === 0)).toBe(true);
});

test("the sweep's listing walks jobs_sweep and finds each open run by its unique index, whatever the backlog", () => {
  const plan = explain((fw.driver as SqliteDriver).db, { sql: EXPIRED_LEASES_SQL, params: [Date.now(), 10] });
  expect(plan).toContain("USING INDEX jobs_sweep (leased_until<?)");
  expect(plan).toMatch(/SEARCH r USING INDEX \S+ \(job_id=\? AND attempt=\?\)/);
  expect(plan).not.toContain("TEMP B-TREE");
});
