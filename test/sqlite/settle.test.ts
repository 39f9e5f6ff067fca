import { afterEach, expect, test } from "bun:test";
import { crashed } from "../../src/jobs/outcome.ts";
import { CANCELLED_MESSAGE, CRASHED_MESSAGE } from "../../src/driver/rules.ts";
import type { SqliteDriver } from "../../src/driver/sqlite/index.ts";
import { T0, at, claimAt, jobRow, openTestDriver, successItem } from "../support/sqlite.ts";

// Leases, the sweep's finalize and the operator's cancel, driven through the driver with explicit times.

let driver: SqliteDriver;
let cleanup: (() => Promise<void>) | null = null;

afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

async function setup(): Promise<SqliteDriver> {
  const opened = await openTestDriver();
  driver = opened.driver;
  cleanup = opened.cleanup;
  return driver;
}

async function claimOne(now = T0, leaseMs = 30_000) {
  const [job] = await driver.jobClaim(claimAt(now, { limit: 1, leasedUntil: new Date(now.getTime() + leaseMs) }));
  return job!;
}

test("leaseListExpired lists running jobs whose lease expired, oldest expiry first, each with its open run", async () => {
  await setup();
  await driver.jobInsert({ jobs: [jobRow({ kind: "a", priority: 1 }), jobRow({ kind: "b", priority: 2 }), jobRow({ kind: "c", priority: 3 })] });
  const a = await claimOne(T0, 20_000);
  const b = await claimOne(T0, 10_000);
  const c = await claimOne(T0, 60_000);
  // A running job without a run stub of its current attempt (its stub is gone) still comes back, run unknown.
  const [orphan] = (await driver.jobInsert({ jobs: [jobRow({ kind: "d", priority: 4 })] })).map((o) => o.id);
  const d = await claimOne(T0, 5_000);
  expect(d.id).toBe(orphan!);
  driver.db.query("DELETE FROM job_runs WHERE job_id = ?").run(d.id);

  expect(await driver.leaseListExpired({ now: at(10_000), limit: 10 })).toEqual([
    { jobId: d.id, kind: "d", queue: "default", attempt: 1, maxAttempts: 25, leaseToken: d.leaseToken!, leasedUntil: at(5_000), runId: null, startedAt: null },
  ]);
  const expired = await driver.leaseListExpired({ now: at(30_000), limit: 10 });
  expect(expired.map((l) => l.jobId)).toEqual([d.id, b.id, a.id]);
  expect(expired[1]).toEqual({
    jobId: b.id,
    kind: "b",
    queue: "default",
    attempt: 1,
    maxAttempts: 25,
    leaseToken: b.leaseToken!,
    leasedUntil: at(10_000),
    runId: b.runId,
    startedAt: T0,
  });
  expect((await driver.leaseListExpired({ now: at(30_000), limit: 2 })).map((l) => l.jobId)).toEqual([d.id, b.id]);
  expect((await driver.leaseListExpired({ now: at(61_000), limit: 10 })).map((l) => l.jobId)).toContain(c.id);
});

test("a sweep item whose lease was renewed after listing is not applied and its run stays started", async () => {
  await setup();
  await driver.jobInsert({ jobs: [jobRow()] });
  const job = await claimOne(T0, 30_000);
  const listedAt = at(31_000);
  const [lease] = await driver.leaseListExpired({ now: listedAt, limit: 10 });
  // The runner was only late: it renews between the sweep's listing and its finalize.
  expect(await driver.leaseRenew({ leases: [{ jobId: job.id, leaseToken: job.leaseToken! }], leasedUntil: at(61_000), now: listedAt })).toEqual(
    new Set([job.id]),
  );
  const [outcome] = await driver.jobFinalize({ items: [crashed(lease!, listedAt, 0)], now: listedAt });
  expect(outcome).toEqual({ applied: false, outcome: "started", children: [] });
  expect(await driver.jobGet({ id: job.id })).toMatchObject({ state: "running", leaseToken: job.leaseToken, leasedUntil: at(61_000) });
  expect(await driver.runList({ jobId: job.id })).toMatchObject([{ id: job.runId, outcome: "started", finishedAt: null, errorMessage: null }]);
});

test("a sweep item whose lease is still expired ends the run crashed with the item's timing", async () => {
  await setup();
  await driver.jobInsert({ jobs: [jobRow()] });
  const job = await claimOne(T0, 30_000);
  const sweptAt = at(45_000);
  const [lease] = await driver.leaseListExpired({ now: sweptAt, limit: 10 });
  const [outcome] = await driver.jobFinalize({ items: [crashed(lease!, sweptAt, 2_000)], now: sweptAt });
  expect(outcome).toEqual({ applied: true, outcome: "crashed", children: [] });
  expect(await driver.jobGet({ id: job.id })).toMatchObject({ state: "retryable", leaseToken: null, scheduledAt: at(47_000) });
  expect(await driver.runList({ jobId: job.id })).toMatchObject([
    { outcome: "crashed", errorClass: "crashed", errorMessage: CRASHED_MESSAGE, finishedAt: sweptAt, durationMs: 45_000 },
  ]);
  // Swept twice (two nodes): the second changes nothing.
  const [again] = await driver.jobFinalize({ items: [crashed(lease!, sweptAt, 2_000)], now: sweptAt });
  expect(again).toEqual({ applied: false, outcome: "crashed", children: [] });
});

test("jobCancel closes the job's open run as cancelled, now", async () => {
  await setup();
  await driver.jobInsert({ jobs: [jobRow()] });
  const job = await claimOne(T0);
  const cancelled = await driver.jobCancel({ id: job.id, now: at(5_000) });
  expect(cancelled).toMatchObject({ before: { id: job.id, state: "running" }, descendants: [] });
  expect(await driver.jobGet({ id: job.id })).toMatchObject({ state: "cancelled", leaseToken: null, leasedUntil: null, finalizedAt: at(5_000) });
  expect(await driver.runList({ jobId: job.id })).toMatchObject([
    { id: job.runId, outcome: "cancelled", finishedAt: at(5_000), durationMs: 5_000, errorMessage: CANCELLED_MESSAGE },
  ]);
  // Its runner is gone: nothing is left for the sweep, and no started run outlives the job.
  expect(await driver.leaseListExpired({ now: at(60_000), limit: 10 })).toEqual([]);
  // A terminal job is left alone.
  expect(await driver.jobCancel({ id: job.id, now: at(9_000) })).toMatchObject({ before: { state: "cancelled", finalizedAt: at(5_000) } });
  expect((await driver.runList({ jobId: job.id }))[0]!.finishedAt).toEqual(at(5_000));
});

test("a late finalize after an operator cancel records cancelled with the attempt's own details", async () => {
  await setup();
  await driver.jobInsert({ jobs: [jobRow()] });
  const job = await claimOne(T0);
  await driver.jobCancel({ id: job.id, now: at(5_000) });
  const late = successItem(job, at(7_000), { output: { done: 1 }, costMicros: 12 });
  late.followUps = [jobRow({ kind: "child" })];
  const [outcome] = await driver.jobFinalize({ items: [late], now: at(7_000) });
  expect(outcome).toEqual({ applied: false, outcome: "cancelled", children: [] });
  expect(await driver.runList({ jobId: job.id })).toMatchObject([
    { id: job.runId, outcome: "cancelled", output: { done: 1 }, costMicros: 12, finishedAt: at(7_000), durationMs: 7_000, enqueuedChildren: 0 },
  ]);
  expect(await driver.jobGet({ id: job.id })).toMatchObject({ state: "cancelled", finalizedAt: at(5_000) });
  expect(await driver.jobList({ kind: "child", limit: 10 })).toEqual([]);
});

test("a finalize after the sweep took the lease records superseded; finalizing twice changes nothing", async () => {
  await setup();
  await driver.jobInsert({ jobs: [jobRow()] });
  const job = await claimOne(T0);
  const [lease] = await driver.leaseListExpired({ now: at(31_000), limit: 10 });
  await driver.jobFinalize({ items: [crashed(lease!, at(31_000), 0)], now: at(31_000) });
  const item = successItem(job, at(40_000));
  expect(await driver.jobFinalize({ items: [item], now: at(40_000) })).toEqual([{ applied: false, outcome: "superseded", children: [] }]);
  expect(await driver.jobFinalize({ items: [item], now: at(41_000) })).toEqual([{ applied: false, outcome: "superseded", children: [] }]);
  expect(await driver.runList({ jobId: job.id })).toMatchObject([{ outcome: "superseded", finishedAt: at(40_000) }]);
  expect(await driver.jobGet({ id: job.id })).toMatchObject({ state: "retryable", attempt: 1 });
});
