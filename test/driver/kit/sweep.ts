import { describe, expect } from "bun:test";
import { CRASHED_MESSAGE } from "../../../src/driver/rules.ts";
import type { ExpiredLease, FinalizeOutcome } from "../../../src/driver/types.ts";
import { crashed } from "../../../src/jobs/outcome.ts";
import { T0, at, getJob, row, runningJob, snapshot, successItem, type AnyDriver } from "./factory.ts";
import type { Kit } from "./harness.ts";
import { expectFields } from "../../support/match.ts";

/** What a sweeper lists at `now`. */
async function listExpired(driver: AnyDriver, now: Date): Promise<ExpiredLease[]> {
  return driver.leaseListExpired({ now, limit: 100 });
}

/** Finalizes `leases` as the sweep does: `crashed` items retried `retryDelayMs` later, listed and fenced at `now`. */
async function sweep(driver: AnyDriver, leases: ExpiredLease[], now: Date, retryDelayMs = 2_000): Promise<FinalizeOutcome[]> {
  return driver.jobFinalize({ items: leases.map((lease) => crashed(lease, now, retryDelayMs)), now });
}

/** The sweep: leaseListExpired, then jobFinalize of `crashed` items fenced on the expired lease. */
export function sweepArea(kit: Kit): void {
  describe("sweep (leaseListExpired + crashed items)", () => {
    kit.test("an expired lease: the job is retried after the backoff and its run ends crashed", async () => {
      const { driver } = await kit.open();
      const claim = await runningJob(driver, { now: T0, maxAttempts: 3, leasedUntil: at(30_000) });
      const now = at(45_000);
      expect(await sweep(driver, await listExpired(driver, now), now)).toEqual([{ applied: true, outcome: "crashed", children: [] }]);
      expectFields(await getJob(driver, claim.id), {
        state: "retryable",
        attempt: 1,
        scheduledAt: at(47_000),
        leaseToken: null,
        leasedUntil: null,
        finalizedAt: null,
      });
      expectFields(await driver.runList({ jobId: claim.id }), [
        { id: claim.runId, outcome: "crashed", errorClass: "crashed", errorMessage: CRASHED_MESSAGE, finishedAt: now, durationMs: 45_000 },
      ]);
      expect(await listExpired(driver, at(90_000))).toEqual([]);
    });

    kit.test("an expired lease on the last attempt: the job is discarded and listed as a crashed failure", async () => {
      const { driver } = await kit.open();
      const claim = await runningJob(driver, { now: T0, maxAttempts: 1, leasedUntil: at(30_000) });
      const now = at(45_000);
      expect(await sweep(driver, await listExpired(driver, now), now)).toEqual([{ applied: true, outcome: "crashed", children: [] }]);
      expectFields(await getJob(driver, claim.id), { state: "discarded", finalizedAt: now, leaseToken: null });
      expect(await driver.jobListFailures({ since: T0, limit: 10 })).toEqual([
        { jobId: claim.id, kind: "kit", queue: "default", attempt: 1, finalizedAt: now, errorClass: "crashed", errorMessage: CRASHED_MESSAGE },
      ]);
    });

    kit.test("a lease renewed after the listing is left alone: the job keeps running and its run stays started", async () => {
      const { driver } = await kit.open();
      const claim = await runningJob(driver, { now: T0, maxAttempts: 3, leasedUntil: at(30_000) });
      const listedAt = at(31_000);
      const leases = await listExpired(driver, listedAt);
      // The runner was only late: it renews between the sweep's listing and its finalize.
      await driver.leaseRenew({ leases: [{ jobId: claim.id, leaseToken: claim.leaseToken! }], leasedUntil: at(61_000), now: listedAt });
      expect(await sweep(driver, leases, listedAt)).toEqual([{ applied: false, outcome: "started", children: [] }]);
      expectFields(await getJob(driver, claim.id), { state: "running", leaseToken: claim.leaseToken, leasedUntil: at(61_000) });
      expectFields(await driver.runList({ jobId: claim.id }), [{ id: claim.runId, outcome: "started", finishedAt: null, errorMessage: null }]);
    });

    kit.test("a second sweeper finalizing the same listing reports crashed and changes nothing", async () => {
      const { driver, openPeer } = await kit.open();
      const peer = await openPeer();
      const claim = await runningJob(driver, { now: T0, maxAttempts: 3, leasedUntil: at(30_000) });
      const now = at(45_000);
      const mine = await listExpired(driver, now);
      const theirs = await listExpired(peer, now);
      expect(await sweep(driver, mine, now)).toEqual([{ applied: true, outcome: "crashed", children: [] }]);
      const before = await snapshot(driver, claim.id);
      expect(await sweep(peer, theirs, now)).toEqual([{ applied: false, outcome: "crashed", children: [] }]);
      expect(await snapshot(driver, claim.id)).toEqual(before);
    });

    kit.test("the attempt's real finalize after a sweep records superseded, changes nothing on the job and inserts no follow-ups", async () => {
      const { driver } = await kit.open();
      const claim = await runningJob(driver, { now: T0, maxAttempts: 3, leasedUntil: at(30_000) });
      await sweep(driver, await listExpired(driver, at(45_000)), at(45_000));
      const before = await snapshot(driver, claim.id);
      const now = at(50_000);
      const child = row({ kind: "child" });
      expect(await driver.jobFinalize({ items: [successItem(claim, now, { late: true }, [child])], now })).toEqual([
        { applied: false, outcome: "superseded", children: [] },
      ]);
      const after = await snapshot(driver, claim.id);
      expect(after.job).toEqual(before.job);
      expectFields(after.runs, [{ id: claim.runId, outcome: "superseded", output: { late: true }, finishedAt: now }]);
      expect(await driver.jobGet({ id: child.id })).toBeNull();
    });

    kit.test("an attempt that finalized itself between the listing and the sweep keeps its outcome", async () => {
      const { driver } = await kit.open();
      const claim = await runningJob(driver, { now: T0, maxAttempts: 3, leasedUntil: at(30_000) });
      const now = at(31_000);
      const leases = await listExpired(driver, now);
      await driver.jobFinalize({ items: [successItem(claim, now)], now });
      const before = await snapshot(driver, claim.id);
      expect(await sweep(driver, leases, now)).toEqual([{ applied: false, outcome: "success", children: [] }]);
      expect(await snapshot(driver, claim.id)).toEqual(before);
    });

    kit.test("a job an operator cancelled between the listing and the sweep stays cancelled", async () => {
      const { driver } = await kit.open();
      const claim = await runningJob(driver, { now: T0, maxAttempts: 3, leasedUntil: at(30_000) });
      const now = at(31_000);
      const leases = await listExpired(driver, now);
      await driver.jobCancel({ id: claim.id, now });
      const before = await snapshot(driver, claim.id);
      expect(await sweep(driver, leases, now)).toEqual([{ applied: false, outcome: "cancelled", children: [] }]);
      expect(await snapshot(driver, claim.id)).toEqual(before);
    });
  });
}
