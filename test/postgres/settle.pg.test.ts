/**
 * PostgreSQL specifics of the sweep, the finalize's settlement of items that did not advance, and the cancel's
 * closing of the open run. Time is fixed: every instant below is passed explicitly.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { connect, type Flywheel } from "../../src/index.ts";
import { FixedClock } from "../../src/core/clock.ts";
import { newId } from "../../src/core/id.ts";
import { CANCELLED_MESSAGE } from "../../src/driver/rules.ts";
import type { ClaimedJob, FinalizeItem } from "../../src/driver/types.ts";
import { crashed } from "../../src/jobs/outcome.ts";
import { adminSql, pgAvailable, throwawaySchema, type ThrowawaySchema } from "../support/postgres.ts";

const missing = !(await pgAvailable());
const T0 = new Date("2026-03-08T06:00:00Z");
const at = (ms: number) => new Date(T0.getTime() + ms);

describe.skipIf(missing)("postgres: sweep, settlement and cancel", () => {
  let schema: ThrowawaySchema;
  const open: Flywheel[] = [];
  afterEach(async () => {
    for (const fw of open.splice(0)) await fw.close();
    await schema.drop();
  });

  async function fresh(): Promise<Flywheel> {
    schema = throwawaySchema();
    const fw = await connect(schema.url, { clock: new FixedClock(T0) });
    open.push(fw);
    await fw.migrate();
    return fw;
  }

  /** Claims one queued job at `now` with a lease until `leasedUntil`, as a runner would. */
  async function claim(fw: Flywheel, id: string, now: Date, leasedUntil: Date): Promise<ClaimedJob> {
    const [job] = await fw.driver.jobClaim({ queues: null, executorClasses: null, ids: [id], limit: 1, now, leasedUntil, leaseToken: newId(), executorId: "t" });
    return job!;
  }

  /** A failed attempt's finalize item for a claimed job, finished at `now`. */
  function failed(job: ClaimedJob, now: Date): FinalizeItem {
    return {
      jobId: job.id,
      runId: job.runId,
      leaseToken: job.leaseToken!,
      run: { outcome: "error", errorClass: "transient", errorMessage: "boom", output: { step: 3 }, finishedAt: now, durationMs: 1234, costMicros: 9 },
      job: { state: "retryable", scheduledAt: at(60_000), maxAttemptsDelta: 0 },
      followUps: [],
    };
  }

  test("leaseListExpired lists running jobs whose lease expired, oldest expiry first, each with its open run", async () => {
    const fw = await fresh();
    const [a, b, c, d] = (await fw.insertMany([0, 1, 2, 3].map((n) => ({ kind: "noop", args: { n } })))) as string[];
    const ja = await claim(fw, a!, T0, at(3_000));
    const jb = await claim(fw, b!, at(100), at(1_000));
    const jc = await claim(fw, c!, T0, at(2_000));
    await claim(fw, d!, T0, at(10_000));
    // A running job whose stub is missing is still listed, without a run.
    const sql = adminSql({ max: 1 });
    try {
      await sql.unsafe(`DELETE FROM "${schema.name}".job_runs WHERE id = $1`, [jc.runId]);
    } finally {
      await sql.end({ timeout: 1 });
    }

    const expired = await fw.driver.leaseListExpired({ now: at(5_000), limit: 10 });
    expect(expired).toEqual([
      { jobId: b!, kind: "noop", queue: "default", attempt: 1, maxAttempts: 25, leaseToken: jb.leaseToken!, leasedUntil: at(1_000), runId: jb.runId, startedAt: at(100) },
      { jobId: c!, kind: "noop", queue: "default", attempt: 1, maxAttempts: 25, leaseToken: jc.leaseToken!, leasedUntil: at(2_000), runId: null, startedAt: null },
      { jobId: a!, kind: "noop", queue: "default", attempt: 1, maxAttempts: 25, leaseToken: ja.leaseToken!, leasedUntil: at(3_000), runId: ja.runId, startedAt: T0 },
    ]);
    expect((await fw.driver.leaseListExpired({ now: at(5_000), limit: 1 })).map((l) => l.jobId)).toEqual([b!]);
    // Strictly before: a lease ending exactly now is not expired yet.
    expect(await fw.driver.leaseListExpired({ now: at(1_000), limit: 10 })).toEqual([]);
  });

  test("a swept attempt's run gets the item's finish time and duration", async () => {
    const fw = await fresh();
    const id = await fw.insert("noop", {}, { maxAttempts: 1 });
    await claim(fw, id, T0, at(1_000));
    const now = at(7_500);
    const expired = await fw.driver.leaseListExpired({ now, limit: 10 });
    const outcomes = await fw.driver.jobFinalize({ items: expired.map((l) => crashed(l, now, 0)), now });
    expect(outcomes).toEqual([{ applied: true, outcome: "crashed", children: [] }]);
    expect(await fw.findJob(id)).toMatchObject({ state: "discarded", finalizedAt: now, leaseToken: null });
    expect((await fw.listRuns(id))[0]).toMatchObject({ outcome: "crashed", errorClass: "crashed", finishedAt: now, durationMs: 7_500 });
  });

  test("a sweep item whose lease was renewed after listing is not applied, and its run stays started", async () => {
    const fw = await fresh();
    const id = await fw.insert("noop", {});
    const job = await claim(fw, id, T0, at(1_000));
    const now = at(2_000);
    const expired = await fw.driver.leaseListExpired({ now, limit: 10 });
    expect(expired.map((l) => l.jobId)).toEqual([id]);
    // The runner was slow, not dead: it renews between the sweep's listing and its finalize.
    expect(await fw.driver.leaseRenew({ leases: [{ jobId: id, leaseToken: job.leaseToken! }], leasedUntil: at(32_000), now })).toEqual(new Set([id]));

    const outcomes = await fw.driver.jobFinalize({ items: expired.map((l) => crashed(l, now, 0)), now });
    expect(outcomes).toEqual([{ applied: false, outcome: "started", children: [] }]);
    expect(await fw.findJob(id)).toMatchObject({ state: "running", leaseToken: job.leaseToken, leasedUntil: at(32_000) });
    expect((await fw.listRuns(id)).map((r) => [r.id, r.outcome, r.finishedAt])).toEqual([[job.runId, "started", null]]);
    // The runner's own finalize still holds the fence.
    expect(await fw.driver.jobFinalize({ items: [failed(job, at(3_000))], now: at(3_000) })).toEqual([{ applied: true, outcome: "error", children: [] }]);
  });

  test("jobCancel closes the open run as cancelled; a queued job has none to close", async () => {
    const fw = await fresh();
    const [running, queued] = (await fw.insertMany([{ kind: "noop" }, { kind: "noop" }])) as string[];
    const job = await claim(fw, running!, T0, at(30_000));
    const cancelled = await fw.driver.jobCancel({ id: running!, now: at(5_000) });
    expect(cancelled).toEqual({ before: expect.objectContaining({ id: running!, state: "running" }), descendants: [] });
    expect(await fw.findJob(running!)).toMatchObject({ state: "cancelled", finalizedAt: at(5_000), leaseToken: null, leasedUntil: null });
    expect(await fw.listRuns(running!)).toEqual([
      expect.objectContaining({ id: job.runId, outcome: "cancelled", finishedAt: at(5_000), durationMs: 5_000, errorMessage: CANCELLED_MESSAGE }),
    ]);
    // Nothing is left for the sweep.
    expect(await fw.driver.leaseListExpired({ now: at(60_000), limit: 10 })).toEqual([]);

    expect((await fw.driver.jobCancel({ id: queued!, now: at(5_000) }))!.before.state).toBe("available");
    expect(await fw.listRuns(queued!)).toEqual([]);
    // A terminal job is left alone.
    expect((await fw.driver.jobCancel({ id: running!, now: at(9_000) }))!.before.finalizedAt).toEqual(at(5_000));
    expect((await fw.listRuns(running!))[0]!.finishedAt).toEqual(at(5_000));
  });

  test("a late finalize after an operator's cancel records cancelled with the attempt's own details, and again on replay", async () => {
    const fw = await fresh();
    const id = await fw.insert("noop", {});
    const job = await claim(fw, id, T0, at(30_000));
    await fw.driver.jobCancel({ id, now: at(1_000) });
    const item = failed(job, at(2_000));
    const expected = { outcome: "cancelled", errorClass: "transient", errorMessage: "boom", output: { step: 3 }, finishedAt: at(2_000), durationMs: 1234, costMicros: 9 };

    expect(await fw.driver.jobFinalize({ items: [item], now: at(2_000) })).toEqual([{ applied: false, outcome: "cancelled", children: [] }]);
    expect((await fw.listRuns(id))[0]).toMatchObject(expected);
    expect(await fw.findJob(id)).toMatchObject({ state: "cancelled", finalizedAt: at(1_000) });
    expect(await fw.driver.jobFinalize({ items: [item], now: at(3_000) })).toEqual([{ applied: false, outcome: "cancelled", children: [] }]);
    expect((await fw.listRuns(id))[0]).toMatchObject(expected);
  });

  test("a finalize that lost its lease to the sweep records superseded with its details; the sweep's verdict is overwritten once", async () => {
    const fw = await fresh();
    const id = await fw.insert("noop", {});
    const job = await claim(fw, id, T0, at(1_000));
    const now = at(2_000);
    const expired = await fw.driver.leaseListExpired({ now, limit: 10 });
    await fw.driver.jobFinalize({ items: expired.map((l) => crashed(l, now, 0)), now });
    const item = failed(job, at(2_500));
    expect(await fw.driver.jobFinalize({ items: [item], now: at(2_500) })).toEqual([{ applied: false, outcome: "superseded", children: [] }]);
    expect((await fw.listRuns(id))[0]).toMatchObject({ outcome: "superseded", errorMessage: "boom", durationMs: 1234 });
    expect(await fw.findJob(id)).toMatchObject({ state: "retryable", attempt: 1 });
    // A replay reports what is recorded and changes nothing; the sweep's stale item changes nothing either.
    expect(await fw.driver.jobFinalize({ items: [item], now: at(3_000) })).toEqual([{ applied: false, outcome: "superseded", children: [] }]);
    expect(await fw.driver.jobFinalize({ items: expired.map((l) => crashed(l, now, 0)), now })).toEqual([
      { applied: false, outcome: "superseded", children: [] },
    ]);
  });

  test("several nodes sweeping at once reclaim each expired lease exactly once", async () => {
    const fw = await fresh();
    const ids = await fw.insertMany(Array.from({ length: 500 }, (_, n) => ({ kind: "noop", args: { n } })));
    await fw.driver.jobClaim({ queues: ["default"], executorClasses: null, limit: 500, now: T0, leasedUntil: at(1_000), leaseToken: newId(), executorId: "dead" });
    const sweepers = await Promise.all([0, 1, 2, 3].map(async () => {
      const s = await connect(schema.url, { clock: new FixedClock(at(2_000)) });
      open.push(s);
      return s;
    }));
    const now = at(2_000);
    const counts = await Promise.all(
      sweepers.map(async (s) => {
        let total = 0;
        for (;;) {
          const expired = await s.driver.leaseListExpired({ now, limit: 25 });
          if (expired.length === 0) return total;
          const outcomes = await s.driver.jobFinalize({ items: expired.map((l) => crashed(l, now, 0)), now });
          total += outcomes.filter((o) => o.applied).length;
        }
      }),
    );
    expect(counts.reduce((a, b) => a + b, 0)).toBe(ids.length);
    const sql = adminSql({ max: 1 });
    try {
      const [runs] = await sql.unsafe(`SELECT count(*) FILTER (WHERE outcome = 'crashed')::int AS crashed, count(*)::int AS n FROM "${schema.name}".job_runs`);
      expect({ ...runs }).toEqual({ crashed: 500, n: 500 });
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});
