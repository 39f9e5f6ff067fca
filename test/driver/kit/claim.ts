import { describe, expect } from "bun:test";
import { T0, after, at, claimParams, getJob, jobFixture, row } from "./factory.ts";
import type { Kit } from "./harness.ts";
import { expectFields } from "../../support/match.ts";

/** jobClaim: what is claimable, in which order, under which lease, with which run stub. */
export function claimArea(kit: Kit): void {
  describe("jobClaim", () => {
    kit.test("claims in priority, then scheduled_at, then id order, up to the limit", async () => {
      const { driver } = await kit.open();
      const late = row({ priority: 5, scheduledAt: at(-1_000) });
      const urgent = row({ priority: 1 });
      const early = row({ priority: 5, scheduledAt: at(-2_000) });
      const tie = row({ priority: 5, scheduledAt: at(-2_000) });
      const low = row({ priority: 9, scheduledAt: at(-9_000) });
      await driver.jobInsert({ jobs: [late, urgent, early, tie, low] });
      const claimed = await driver.jobClaim(claimParams(T0, { limit: 4 }));
      expect(claimed.map((j) => j.id)).toEqual([urgent.id, early.id, tie.id, late.id]);
      expectFields(await driver.jobGet({ id: low.id }), { state: "available", attempt: 0 });
      expect((await driver.jobClaim(claimParams(T0))).map((j) => j.id)).toEqual([low.id]);
      expect(await driver.jobClaim(claimParams(T0))).toEqual([]);
    });

    kit.test("a claimed job runs under the claim's lease, one attempt further, with a started run stub committed", async () => {
      const { driver } = await kit.open();
      const job = row({ kind: "report", queue: "q", executorClass: "gpu", createdAt: at(-5_000), scheduledAt: at(-5_000) });
      await driver.jobInsert({ jobs: [job] });
      const now = at(1_000);
      const params = claimParams(now, { leasedUntil: at(31_000), leaseToken: "token-1", executorId: "node-7" });
      const [claimed] = await driver.jobClaim(params);
      expectFields(claimed, {
        id: job.id,
        kind: "report",
        queue: "q",
        state: "running",
        attempt: 1,
        leasedUntil: at(31_000),
        leaseToken: "token-1",
        updatedAt: now,
        startedAt: now,
        finalizedAt: null,
      });
      const { runId, startedAt, ...record } = claimed!;
      expect(await getJob(driver, job.id)).toEqual(record);
      expect(await driver.runList({ jobId: job.id })).toEqual([
        {
          id: runId,
          jobId: job.id,
          attempt: 1,
          executorClass: "gpu",
          executorId: "node-7",
          startedAt,
          finishedAt: null,
          outcome: "started",
          errorClass: null,
          errorMessage: null,
          output: null,
          durationMs: null,
          costMicros: null,
          enqueuedChildren: 0,
          createdAt: now,
        },
      ]);
    });

    kit.test("claims available jobs, and scheduled or retryable ones once due; never running, terminal or future ones", async () => {
      const { driver } = await kit.open();
      const earlier = at(-10_000);
      const claimable = [
        (await jobFixture(driver, { state: "available", now: earlier })).job.id,
        (await jobFixture(driver, { state: "available", now: earlier, scheduledAt: T0 })).job.id,
        (await jobFixture(driver, { state: "scheduled", now: earlier, scheduledAt: at(-1) })).job.id,
        (await jobFixture(driver, { state: "retryable", now: earlier, scheduledAt: T0 })).job.id,
      ];
      await jobFixture(driver, { state: "available", now: earlier, scheduledAt: at(1) });
      await jobFixture(driver, { state: "scheduled", now: earlier, scheduledAt: at(1) });
      await jobFixture(driver, { state: "retryable", now: earlier, scheduledAt: at(1) });
      await jobFixture(driver, { state: "running", now: earlier });
      await jobFixture(driver, { state: "running", now: earlier, leasedUntil: at(-5_000) });
      for (const state of ["succeeded", "cancelled", "discarded"] as const) await jobFixture(driver, { state, now: earlier });
      const claimed = await driver.jobClaim(claimParams(T0, { limit: 100 }));
      expect(claimed.map((j) => j.id).sort()).toEqual(claimable.sort());
    });

    kit.test("queues: null claims every queue; a list claims only those, merged in priority order", async () => {
      const { driver } = await kit.open();
      const a = row({ queue: "a", priority: 3 });
      const b = row({ queue: "b", priority: 1 });
      const c = row({ queue: "c", priority: 2 });
      await driver.jobInsert({ jobs: [a, b, c] });
      expect((await driver.jobClaim(claimParams(T0, { queues: ["a", "c"] }))).map((j) => j.id)).toEqual([c.id, a.id]);
      expect(await driver.jobClaim(claimParams(T0, { queues: ["a", "c", "none"] }))).toEqual([]);
      const d = row({ queue: "d", priority: 0 });
      await driver.jobInsert({ jobs: [d] });
      expect((await driver.jobClaim(claimParams(T0, { queues: null }))).map((j) => j.id)).toEqual([d.id, b.id]);
    });

    kit.test("executorClasses: null claims every class; a list claims only those classes", async () => {
      const { driver } = await kit.open();
      const any = row({ executorClass: "", priority: 1 });
      const gpu = row({ executorClass: "gpu", priority: 2 });
      const cpu = row({ executorClass: "cpu", priority: 3 });
      await driver.jobInsert({ jobs: [any, gpu, cpu] });
      expect((await driver.jobClaim(claimParams(T0, { executorClasses: ["gpu", ""] }))).map((j) => j.id)).toEqual([any.id, gpu.id]);
      expect(await driver.jobClaim(claimParams(T0, { executorClasses: ["tpu"] }))).toEqual([]);
      expect((await driver.jobClaim(claimParams(T0, { executorClasses: null }))).map((j) => j.id)).toEqual([cpu.id]);
    });

    kit.test("ids: only the listed jobs, and only those that are claimable", async () => {
      const { driver } = await kit.open();
      const one = row({ priority: 2 });
      const two = row({ priority: 1 });
      const other = row({ priority: 0 });
      await driver.jobInsert({ jobs: [one, two, other] });
      const running = (await jobFixture(driver, { state: "running", now: T0 })).job;
      const claimed = await driver.jobClaim(claimParams(T0, { ids: [one.id, two.id, running.id, "no-such-job"] }));
      expect(claimed.map((j) => j.id)).toEqual([two.id, one.id]);
      expectFields(await driver.jobGet({ id: other.id }), { state: "available" });
    });

    kit.test("a limit of 0 claims nothing and changes nothing", async () => {
      const { driver } = await kit.open();
      const job = row();
      await driver.jobInsert({ jobs: [job] });
      expect(await driver.jobClaim(claimParams(T0, { limit: 0 }))).toEqual([]);
      expectFields(await driver.jobGet({ id: job.id }), { state: "available", attempt: 0, updatedAt: T0 });
      expect(await driver.runList({ jobId: job.id })).toEqual([]);
    });

    kit.test("a retried job is claimed as its next attempt, with a run stub of its own", async () => {
      const { driver } = await kit.open();
      const { job, claim } = await jobFixture(driver, { state: "retryable", now: T0, scheduledAt: at(1_000) });
      const [again] = await driver.jobClaim(claimParams(at(1_000)));
      expectFields(again, { id: job.id, attempt: 2, state: "running" });
      expect(again!.runId).not.toBe(claim!.runId);
      const runs = await driver.runList({ jobId: job.id });
      expect(runs.map((r) => [r.id, r.attempt, r.outcome])).toEqual([
        [claim!.runId, 1, "error"],
        [again!.runId, 2, "started"],
      ]);
    });

    kit.test("concurrent claims on two connections never hand one job to both", async () => {
      const { driver, openPeer } = await kit.open();
      const peer = await openPeer();
      const jobs = Array.from({ length: 8 }, () => row());
      await driver.jobInsert({ jobs });
      const now = after(T0, 1);
      const [mine, theirs] = await Promise.all([driver.jobClaim(claimParams(now, { limit: 5 })), peer.jobClaim(claimParams(now, { limit: 5 }))]);
      // Whatever the interleaving, no job is claimed twice, and a later claim finds exactly the rest.
      const rest = await driver.jobClaim(claimParams(now, { limit: 10 }));
      const ids = [...mine, ...theirs, ...rest].map((j) => j.id);
      expect(ids.sort()).toEqual(jobs.map((j) => j.id).sort());
      expect(mine.length + theirs.length).toBeGreaterThan(5);
    });
  });
}
