import { describe, expect } from "bun:test";
import { newId } from "../../../src/core/id.ts";
import { CANCELLED_MESSAGE } from "../../../src/driver/rules.ts";
import { cancelledByWorker, succeeded } from "../../../src/jobs/outcome.ts";
import { T0, at, claimParams, ended, getJob, jobFixture, row, snapshot, successItem } from "./factory.ts";
import type { Kit } from "./harness.ts";
import { expectFields } from "../../support/match.ts";

/** Operator actions: jobCancel, jobRetry, jobDeleteFinished. */
export function adminArea(kit: Kit): void {
  describe("jobCancel", () => {
    kit.test("cancels a running job and closes its open run as cancelled at once", async () => {
      const { driver } = await kit.open();
      const { job, claim } = await jobFixture(driver, { state: "running", now: T0 });
      const now = at(5_000);
      expect(await driver.jobCancel({ id: job.id, now })).toEqual({ before: job, descendants: [] });
      expectFields(await getJob(driver, job.id), {
        state: "cancelled",
        leaseToken: null,
        leasedUntil: null,
        finalizedAt: now,
        updatedAt: now,
      });
      expectFields(await driver.runList({ jobId: job.id }), [
        { id: claim!.runId, outcome: "cancelled", finishedAt: now, durationMs: 5_000, errorMessage: CANCELLED_MESSAGE },
      ]);
      // Its runner may be gone: nothing is left for the sweep.
      expect(await driver.leaseListExpired({ now: at(60_000), limit: 10 })).toEqual([]);
    });

    kit.test("a late finalize after the cancel fills the closed run in with the attempt's details, still cancelled", async () => {
      const { driver } = await kit.open();
      const { job, claim } = await jobFixture(driver, { state: "running", now: T0 });
      await driver.jobCancel({ id: job.id, now: at(5_000) });
      const cancelled = await getJob(driver, job.id);
      const now = at(7_000);
      const child = row({ kind: "child" });
      const late = succeeded(ended(claim!, now), { output: { done: 1 }, costMicros: 12 }, [child]).item;
      expect(await driver.jobFinalize({ items: [late], now })).toEqual([{ applied: false, outcome: "cancelled", children: [] }]);
      expectFields(await driver.runList({ jobId: job.id }), [
        { id: claim!.runId, outcome: "cancelled", output: { done: 1 }, costMicros: 12, finishedAt: now, durationMs: 7_000, enqueuedChildren: 0 },
      ]);
      expect(await getJob(driver, job.id)).toEqual(cancelled);
      expect(await driver.jobGet({ id: child.id })).toBeNull();
    });

    kit.test("a late finalize in which the worker cancelled too is reported applied", async () => {
      const { driver } = await kit.open();
      const { job, claim } = await jobFixture(driver, { state: "running", now: T0 });
      await driver.jobCancel({ id: job.id, now: at(5_000) });
      const item = cancelledByWorker(ended(claim!, at(6_000)), { cancel: "stopping" }).item;
      expect(await driver.jobFinalize({ items: [item], now: at(6_000) })).toEqual([{ applied: true, outcome: "cancelled", children: [] }]);
      expectFields(await driver.runList({ jobId: job.id }), [{ outcome: "cancelled", errorMessage: "stopping", finishedAt: at(6_000) }]);
    });

    kit.test("cancels available, scheduled and retryable jobs without touching their past runs", async () => {
      const { driver } = await kit.open();
      for (const state of ["available", "scheduled", "retryable"] as const) {
        const { job } = await jobFixture(driver, { state, now: T0 });
        const runs = await driver.runList({ jobId: job.id });
        const now = at(1_000);
        expect(await driver.jobCancel({ id: job.id, now })).toEqual({ before: job, descendants: [] });
        expectFields(await getJob(driver, job.id), { state: "cancelled", finalizedAt: now });
        expect(await driver.runList({ jobId: job.id })).toEqual(runs);
      }
    });

    kit.test("a terminal job is returned as it is and left alone; a missing one is null", async () => {
      const { driver } = await kit.open();
      for (const state of ["succeeded", "cancelled", "discarded"] as const) {
        const { job } = await jobFixture(driver, { state, now: T0 });
        const before = await snapshot(driver, job.id);
        expect(await driver.jobCancel({ id: job.id, now: at(9_000) })).toEqual({ before: job, descendants: [] });
        expect(await snapshot(driver, job.id)).toEqual(before);
      }
      expect(await driver.jobCancel({ id: newId(), now: T0 })).toBeNull();
    });
  });

  describe("jobRetry", () => {
    kit.test("makes a discarded job available now and gives an exhausted budget one more attempt", async () => {
      const { driver } = await kit.open();
      const { job } = await jobFixture(driver, { state: "discarded", now: T0, maxAttempts: 1 });
      const now = at(10_000);
      expect(await driver.jobRetry({ id: job.id, now })).toEqual({ before: job, heldBy: null });
      expectFields(await getJob(driver, job.id), { state: "available", scheduledAt: now, updatedAt: now, attempt: 1, maxAttempts: 2, finalizedAt: null });
      expectFields(await driver.jobClaim(claimParams(now)), [{ id: job.id, attempt: 2, maxAttempts: 2 }]);
    });

    kit.test("keeps a budget that is not spent, and makes succeeded, cancelled, scheduled and retryable jobs available now", async () => {
      const { driver } = await kit.open();
      for (const state of ["succeeded", "cancelled", "scheduled", "retryable"] as const) {
        const { job } = await jobFixture(driver, { state, now: T0, maxAttempts: 5 });
        const now = at(1_000);
        expect(await driver.jobRetry({ id: job.id, now })).toEqual({ before: job, heldBy: null });
        expectFields(await getJob(driver, job.id), { state: "available", scheduledAt: now, maxAttempts: 5, attempt: job.attempt, finalizedAt: null });
      }
    });

    kit.test("a running job is left alone; a missing one is null", async () => {
      const { driver } = await kit.open();
      const { job } = await jobFixture(driver, { state: "running", now: T0 });
      const before = await snapshot(driver, job.id);
      expect(await driver.jobRetry({ id: job.id, now: at(1_000) })).toEqual({ before: job, heldBy: null });
      expect(await snapshot(driver, job.id)).toEqual(before);
      expect(await driver.jobRetry({ id: newId(), now: T0 })).toBeNull();
    });

    kit.test("a unique_active_key another active job now holds: left alone, naming the holder; once free, retried", async () => {
      const { driver } = await kit.open();
      const { job } = await jobFixture(driver, { state: "discarded", now: T0, uniqueActiveKey: "only-one" });
      const { job: holder, claim } = await jobFixture(driver, { state: "running", now: T0, uniqueActiveKey: "only-one" });
      const before = await snapshot(driver, job.id);
      expect(await driver.jobRetry({ id: job.id, now: at(1_000) })).toEqual({ before: job, heldBy: holder.id });
      expect(await snapshot(driver, job.id)).toEqual(before);

      await driver.jobFinalize({ items: [successItem(claim!, at(2_000))], now: at(2_000) });
      expect(await driver.jobRetry({ id: job.id, now: at(3_000) })).toEqual({ before: job, heldBy: null });
      expectFields(await getJob(driver, job.id), { state: "available" });
      // It holds the key again.
      expectFields(await driver.jobInsert({ jobs: [row({ uniqueActiveKey: "only-one" })] }), [{ inserted: false, id: job.id }]);
    });
  });

  describe("jobDeleteFinished", () => {
    kit.test("hard-deletes terminal jobs finalized before the cutoff, oldest first, up to the limit, with their runs", async () => {
      const { driver } = await kit.open();
      const oldest = (await jobFixture(driver, { state: "succeeded", now: at(1_000) })).job;
      const older = (await jobFixture(driver, { state: "discarded", now: at(2_000) })).job;
      const old = (await jobFixture(driver, { state: "cancelled", now: at(3_000), attempt: 1 })).job;
      const recent = (await jobFixture(driver, { state: "succeeded", now: at(9_000) })).job;
      const live = [];
      for (const state of ["available", "scheduled", "running", "retryable"] as const) live.push((await jobFixture(driver, { state, now: at(1_000) })).job);

      expect(await driver.jobDeleteFinished({ before: at(9_000), limit: 2 })).toBe(2);
      for (const job of [oldest, older]) {
        expect(await driver.jobGet({ id: job.id })).toBeNull();
        expect(await driver.runList({ jobId: job.id })).toEqual([]);
      }
      expect(await driver.jobGet({ id: old.id })).not.toBeNull();
      expect(await driver.jobDeleteFinished({ before: at(9_000), limit: 10 })).toBe(1);
      expect(await driver.runList({ jobId: old.id })).toEqual([]);
      expect(await driver.jobDeleteFinished({ before: at(9_000), limit: 10 })).toBe(0);
      for (const job of [recent, ...live]) expect(await driver.jobGet({ id: job.id })).not.toBeNull();
      expect(await driver.runList({ jobId: recent.id })).toHaveLength(1);
    });

    kit.test("jobCountFinished counts per state exactly what jobDeleteFinished would delete, and deletes nothing", async () => {
      const { driver } = await kit.open();
      await jobFixture(driver, { state: "succeeded", now: at(1_000) });
      await jobFixture(driver, { state: "succeeded", now: at(2_000) });
      await jobFixture(driver, { state: "discarded", now: at(2_000) });
      await jobFixture(driver, { state: "cancelled", now: at(9_000) });
      for (const state of ["available", "running", "retryable"] as const) await jobFixture(driver, { state, now: at(1_000) });

      expect(await driver.jobCountFinished({ before: at(9_000) })).toEqual([
        { state: "discarded", count: 1 },
        { state: "succeeded", count: 2 },
      ]);
      expect(await driver.jobCountFinished({ before: at(9_000) })).toHaveLength(2);
      expect(await driver.jobCountFinished({ before: at(1_000) })).toEqual([]);
      expect(await driver.jobDeleteFinished({ before: at(9_000), limit: 10 })).toBe(3);
      expect(await driver.jobCountFinished({ before: at(9_000) })).toEqual([]);
      expect(await driver.jobCountFinished({ before: at(10_000) })).toEqual([{ state: "cancelled", count: 1 }]);
    });
  });
}
