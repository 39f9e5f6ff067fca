import { describe, expect } from "bun:test";
import { newId } from "../../../src/core/id.ts";
import { crashed } from "../../../src/jobs/outcome.ts";
import { T0, at, claimJob, getJob, jobFixture, runningJob, snapshot } from "./factory.ts";
import type { Kit } from "./harness.ts";
import { expectFields } from "../../support/match.ts";

/** leaseRenew and leaseListExpired. */
export function leaseArea(kit: Kit): void {
  describe("leaseRenew", () => {
    kit.test("extends the leases still held and returns their ids", async () => {
      const { driver } = await kit.open();
      const a = await runningJob(driver, { now: T0, leasedUntil: at(30_000) });
      const b = await runningJob(driver, { now: T0, leasedUntil: at(30_000) });
      const held = await driver.leaseRenew({
        leases: [a, b].map((j) => ({ jobId: j.id, leaseToken: j.leaseToken! })),
        leasedUntil: at(40_000),
        now: at(10_000),
      });
      expect(held).toEqual(new Set([a.id, b.id]));
      for (const job of [a, b]) expectFields(await getJob(driver, job.id), { state: "running", leasedUntil: at(40_000), leaseToken: job.leaseToken });
    });

    kit.test("never moves a lease backwards: an older renewal landing late keeps the later lease", async () => {
      const { driver } = await kit.open();
      const job = await runningJob(driver, { now: T0, leasedUntil: at(30_000) });
      const lease = [{ jobId: job.id, leaseToken: job.leaseToken! }];
      expect(await driver.leaseRenew({ leases: lease, leasedUntil: at(50_000), now: at(20_000) })).toEqual(new Set([job.id]));
      expect(await driver.leaseRenew({ leases: lease, leasedUntil: at(40_000), now: at(10_000) })).toEqual(new Set([job.id]));
      expectFields(await getJob(driver, job.id), { leasedUntil: at(50_000), leaseToken: job.leaseToken });
    });

    kit.test("leases no longer held are neither returned nor touched", async () => {
      const { driver } = await kit.open();
      const held = await runningJob(driver, { now: T0, leasedUntil: at(30_000) });
      const wrongToken = await runningJob(driver, { now: T0, leasedUntil: at(30_000) });
      const { job: finished, claim: finishedClaim } = await jobFixture(driver, { state: "succeeded", now: T0 });
      const { claim: cancelledClaim } = await jobFixture(driver, { state: "cancelled", now: T0, attempt: 1 });
      // Swept and claimed again: the old token is stale, the job runs under a new one.
      const stale = await runningJob(driver, { now: T0, leasedUntil: at(5_000) });
      const [lease] = await driver.leaseListExpired({ now: at(6_000), limit: 1 });
      await driver.jobFinalize({ items: [crashed(lease!, at(6_000), 0)], now: at(6_000) });
      await claimJob(driver, stale.id, at(6_000));

      const untouched = [wrongToken.id, finished.id, cancelledClaim!.id, stale.id];
      const before = await Promise.all(untouched.map((id) => snapshot(driver, id)));
      const result = await driver.leaseRenew({
        leases: [
          { jobId: held.id, leaseToken: held.leaseToken! },
          { jobId: wrongToken.id, leaseToken: newId() },
          { jobId: finished.id, leaseToken: finishedClaim!.leaseToken! },
          { jobId: cancelledClaim!.id, leaseToken: cancelledClaim!.leaseToken! },
          { jobId: stale.id, leaseToken: stale.leaseToken! },
          { jobId: newId(), leaseToken: newId() },
        ],
        leasedUntil: at(90_000),
        now: at(10_000),
      });
      expect(result).toEqual(new Set([held.id]));
      expect(await Promise.all(untouched.map((id) => snapshot(driver, id)))).toEqual(before);
    });

    kit.test("no leases: nothing held", async () => {
      const { driver } = await kit.open();
      expect(await driver.leaseRenew({ leases: [], leasedUntil: at(1_000), now: T0 })).toEqual(new Set());
    });
  });

  describe("leaseListExpired", () => {
    kit.test("lists running jobs whose lease ended before now, oldest expiry first, each with its open run", async () => {
      const { driver } = await kit.open();
      const ten = await runningJob(driver, { now: T0, leasedUntil: at(10_000), kind: "ten" });
      const five = await runningJob(driver, { now: T0, leasedUntil: at(5_000), kind: "five" });
      await runningJob(driver, { now: T0, leasedUntil: at(20_000) });
      await runningJob(driver, { now: T0, leasedUntil: at(40_000) });
      for (const state of ["available", "retryable", "succeeded", "cancelled", "discarded"] as const) await jobFixture(driver, { state, now: T0 });
      const expired = await driver.leaseListExpired({ now: at(20_000), limit: 10 });
      expect(expired).toEqual([
        {
          jobId: five.id,
          kind: "five",
          queue: "default",
          attempt: 1,
          maxAttempts: five.maxAttempts,
          leaseToken: five.leaseToken!,
          leasedUntil: at(5_000),
          runId: five.runId,
          startedAt: T0,
        },
        {
          jobId: ten.id,
          kind: "ten",
          queue: "default",
          attempt: 1,
          maxAttempts: ten.maxAttempts,
          leaseToken: ten.leaseToken!,
          leasedUntil: at(10_000),
          runId: ten.runId,
          startedAt: T0,
        },
      ]);
      expect((await driver.leaseListExpired({ now: at(20_000), limit: 1 })).map((l) => l.jobId)).toEqual([five.id]);
      expect(await driver.leaseListExpired({ now: at(5_000), limit: 10 })).toEqual([]);
    });

    kit.test("the open run listed is the current attempt's", async () => {
      const { driver } = await kit.open();
      const third = await runningJob(driver, { now: T0, leasedUntil: at(1_000), attempt: 3 });
      const [lease] = await driver.leaseListExpired({ now: at(2_000), limit: 10 });
      expectFields(lease, { jobId: third.id, attempt: 3, runId: third.runId, leaseToken: third.leaseToken });
    });

    kit.test("a renewed lease is no longer listed", async () => {
      const { driver } = await kit.open();
      const job = await runningJob(driver, { now: T0, leasedUntil: at(1_000) });
      expect((await driver.leaseListExpired({ now: at(2_000), limit: 10 })).map((l) => l.jobId)).toEqual([job.id]);
      await driver.leaseRenew({ leases: [{ jobId: job.id, leaseToken: job.leaseToken! }], leasedUntil: at(30_000), now: at(2_000) });
      expect(await driver.leaseListExpired({ now: at(2_000), limit: 10 })).toEqual([]);
    });
  });
}
