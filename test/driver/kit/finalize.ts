import { describe, expect } from "bun:test";
import type { ClaimedJob, FinalizeItem } from "../../../src/driver/types.ts";
import { cancelledByWorker, crashed, failed, snoozed, succeeded } from "../../../src/jobs/outcome.ts";
import {
  T0,
  at,
  claimJob,
  claimParams,
  discardItem,
  ended,
  getJob,
  jobFixture,
  retryItem,
  row,
  runningJob,
  snapshot,
  successItem,
} from "./factory.ts";
import type { Kit } from "./harness.ts";
import { expectFields } from "../../support/match.ts";

/** The attempt outcomes a finalize records, each as the runtime builds its item for a claim ending at `now`. */
const OUTCOMES: Record<string, (claim: ClaimedJob, now: Date) => FinalizeItem> = {
  success: (claim, now) => succeeded(ended(claim, now), { output: { ok: true }, costMicros: 42 }, []).item,
  "error, retried": (claim, now) => retryItem(claim, now, 2_000, "boom"),
  "error, discarded": (claim, now) => discardItem(claim, now, "gone for good"),
  timeout: (claim, now) => failed(ended(claim, now), "timeout", "jobs: timed out after 100 ms", null, 3_000).item,
  snooze: (claim, now) => snoozed(ended(claim, now), { snooze: 5_000 }, 5_000).item,
  "cancelled by worker": (claim, now) => cancelledByWorker(ended(claim, now), { cancel: "not needed" }).item,
};

/** jobFinalize: every outcome, follow-ups, lost fences, replays. */
export function finalizeArea(kit: Kit): void {
  describe("jobFinalize", () => {
    kit.test("success: the job succeeds and its run records output, cost and timing", async () => {
      const { driver } = await kit.open();
      const claim = await runningJob(driver, { now: T0, maxAttempts: 3 });
      const now = at(5_000);
      expect(await driver.jobFinalize({ items: [OUTCOMES.success!(claim, now)], now })).toEqual([{ applied: true, outcome: "success", children: [] }]);
      expectFields(await getJob(driver, claim.id), {
        state: "succeeded",
        attempt: 1,
        maxAttempts: 3,
        leaseToken: null,
        leasedUntil: null,
        updatedAt: now,
        finalizedAt: now,
      });
      expectFields(await driver.runList({ jobId: claim.id }), [
        { id: claim.runId, outcome: "success", output: { ok: true }, costMicros: 42, finishedAt: now, durationMs: 5_000, errorClass: null, errorMessage: null },
      ]);
    });

    kit.test("error, retried: the job waits for its backoff, then is claimable as the next attempt", async () => {
      const { driver } = await kit.open();
      const claim = await runningJob(driver, { now: T0, maxAttempts: 3 });
      const now = at(5_000);
      expect(await driver.jobFinalize({ items: [OUTCOMES["error, retried"]!(claim, now)], now })).toEqual([{ applied: true, outcome: "error", children: [] }]);
      expectFields(await getJob(driver, claim.id), { state: "retryable", scheduledAt: at(7_000), leaseToken: null, leasedUntil: null, finalizedAt: null });
      expectFields(await driver.runList({ jobId: claim.id }), [
        { outcome: "error", errorClass: "transient", errorMessage: "boom", finishedAt: now, durationMs: 5_000 },
      ]);
      expect(await driver.jobClaim(claimParams(at(6_999)))).toEqual([]);
      expectFields(await driver.jobClaim(claimParams(at(7_000))), [{ id: claim.id, attempt: 2 }]);
    });

    kit.test("error, discarded: the job is discarded and finalized", async () => {
      const { driver } = await kit.open();
      const claim = await runningJob(driver, { now: T0, maxAttempts: 3 });
      const now = at(5_000);
      expect(await driver.jobFinalize({ items: [OUTCOMES["error, discarded"]!(claim, now)], now })).toEqual([{ applied: true, outcome: "error", children: [] }]);
      expectFields(await getJob(driver, claim.id), { state: "discarded", finalizedAt: now, leaseToken: null });
      expectFields(await driver.runList({ jobId: claim.id }), [{ outcome: "error", errorClass: "permanent", errorMessage: "gone for good" }]);
    });

    kit.test("timeout: the run records timeout and the job is retried", async () => {
      const { driver } = await kit.open();
      const claim = await runningJob(driver, { now: T0, maxAttempts: 3 });
      const now = at(5_000);
      expect(await driver.jobFinalize({ items: [OUTCOMES.timeout!(claim, now)], now })).toEqual([{ applied: true, outcome: "timeout", children: [] }]);
      expectFields(await getJob(driver, claim.id), { state: "retryable", scheduledAt: at(8_000) });
      expectFields(await driver.runList({ jobId: claim.id }), [{ outcome: "timeout", errorClass: "timeout" }]);
    });

    kit.test("snooze: the job is scheduled without spending an attempt (max_attempts grows by one), the run kept", async () => {
      const { driver } = await kit.open();
      const claim = await runningJob(driver, { now: T0, maxAttempts: 3 });
      const now = at(5_000);
      expect(await driver.jobFinalize({ items: [OUTCOMES.snooze!(claim, now)], now })).toEqual([{ applied: true, outcome: "snooze", children: [] }]);
      expectFields(await getJob(driver, claim.id), { state: "scheduled", scheduledAt: at(10_000), attempt: 1, maxAttempts: 4, finalizedAt: null });
      const [again] = await driver.jobClaim(claimParams(at(10_000)));
      expectFields(again, { id: claim.id, attempt: 2, maxAttempts: 4 });
      expect((await driver.runList({ jobId: claim.id })).map((r) => [r.attempt, r.outcome])).toEqual([
        [1, "snooze"],
        [2, "started"],
      ]);
    });

    kit.test("cancelled by its worker: the job is cancelled and the run records the reason", async () => {
      const { driver } = await kit.open();
      const claim = await runningJob(driver, { now: T0, maxAttempts: 3 });
      const now = at(5_000);
      expect(await driver.jobFinalize({ items: [OUTCOMES["cancelled by worker"]!(claim, now)], now })).toEqual([
        { applied: true, outcome: "cancelled", children: [] },
      ]);
      expectFields(await getJob(driver, claim.id), { state: "cancelled", finalizedAt: now, leaseToken: null });
      expectFields(await driver.runList({ jobId: claim.id }), [{ outcome: "cancelled", errorMessage: "not needed", finishedAt: now }]);
    });

    kit.test("a batch finalizes each item on its own and reports outcomes in input order", async () => {
      const { driver } = await kit.open();
      const names = Object.keys(OUTCOMES);
      const claims: ClaimedJob[] = [];
      for (const _ of names) claims.push(await runningJob(driver, { now: T0, maxAttempts: 3 }));
      const lost = await runningJob(driver, { now: T0, maxAttempts: 3 });
      await driver.jobCancel({ id: lost.id, now: at(1_000) });
      const now = at(5_000);
      const items = [...names.map((name, i) => OUTCOMES[name]!(claims[i]!, now)), successItem(lost, now)];
      const outcomes = await driver.jobFinalize({ items, now });
      expect(outcomes.map((o) => [o.applied, o.outcome])).toEqual([
        [true, "success"],
        [true, "error"],
        [true, "error"],
        [true, "timeout"],
        [true, "snooze"],
        [true, "cancelled"],
        [false, "cancelled"],
      ]);
      expect((await Promise.all(claims.map((c) => getJob(driver, c.id)))).map((j) => j.state)).toEqual([
        "succeeded",
        "retryable",
        "discarded",
        "retryable",
        "scheduled",
        "cancelled",
      ]);
    });

    kit.test("an empty finalize does nothing", async () => {
      const { driver } = await kit.open();
      expect(await driver.jobFinalize({ items: [], now: T0 })).toEqual([]);
    });

    kit.test("follow-ups are inserted with the job that advanced; a collision is skipped and names its holder", async () => {
      const { driver } = await kit.open();
      const holder = (await jobFixture(driver, { state: "succeeded", now: T0, uniqueKey: "taken" })).job;
      const claim = await runningJob(driver, { now: T0, maxAttempts: 3 });
      const now = at(5_000);
      const child = row({ kind: "child", parentJobId: claim.id, createdAt: now, scheduledAt: now });
      const clash = row({ kind: "child", uniqueKey: "taken", createdAt: now, scheduledAt: now });
      const [outcome] = await driver.jobFinalize({ items: [successItem(claim, now, null, [child, clash])], now });
      expect(outcome).toEqual({
        applied: true,
        outcome: "success",
        children: [
          { inserted: true, id: child.id },
          { inserted: false, id: holder.id, key: "unique_key", value: "taken" },
        ],
      });
      expectFields(await driver.jobGet({ id: child.id }), { kind: "child", state: "available", parentJobId: claim.id, createdAt: now });
      expect(await driver.jobGet({ id: clash.id })).toBeNull();
      expectFields(await driver.runList({ jobId: claim.id }), [{ outcome: "success", enqueuedChildren: 1 }]);
    });

    kit.test("a lost fence: the sweep and a new attempt took the job; a late finalize records superseded and changes nothing else", async () => {
      const { driver } = await kit.open();
      const first = await runningJob(driver, { now: T0, maxAttempts: 3 });
      const sweptAt = at(31_000);
      const [lease] = await driver.leaseListExpired({ now: sweptAt, limit: 10 });
      await driver.jobFinalize({ items: [crashed(lease!, sweptAt, 0)], now: sweptAt });
      const second = await claimJob(driver, first.id, sweptAt);
      const before = await snapshot(driver, first.id);

      const now = at(40_000);
      const late = successItem(first, now, { late: true }, [row({ kind: "child" })]);
      expect(await driver.jobFinalize({ items: [late], now })).toEqual([{ applied: false, outcome: "superseded", children: [] }]);
      const after = await snapshot(driver, first.id);
      expect(after.job).toEqual(before.job);
      expectFields(after.job, { state: "running", attempt: 2, leaseToken: second.leaseToken });
      expectFields(after.runs, [
        { id: first.runId, outcome: "superseded", finishedAt: now, output: { late: true }, enqueuedChildren: 0 },
        before.runs[1]!,
      ]);
      expect(await driver.jobList({ kind: "child", limit: 10 })).toEqual([]);
      // Finalizing the superseded attempt again changes nothing.
      expect(await driver.jobFinalize({ items: [late], now: at(41_000) })).toEqual([{ applied: false, outcome: "superseded", children: [] }]);
      expect(await snapshot(driver, first.id)).toEqual(after);
    });

    kit.test("a fence lost to an operator's cancel records cancelled, and inserts no follow-ups", async () => {
      const { driver } = await kit.open();
      const claim = await runningJob(driver, { now: T0, maxAttempts: 3 });
      await driver.jobCancel({ id: claim.id, now: at(2_000) });
      const now = at(5_000);
      const child = row({ kind: "child" });
      expect(await driver.jobFinalize({ items: [successItem(claim, now, null, [child])], now })).toEqual([
        { applied: false, outcome: "cancelled", children: [] },
      ]);
      expectFields(await getJob(driver, claim.id), { state: "cancelled", finalizedAt: at(2_000) });
      expect(await driver.jobGet({ id: child.id })).toBeNull();
    });

    for (const [name, build] of Object.entries(OUTCOMES)) {
      kit.test(`a replayed finalize (${name}) reports the first outcome and changes nothing`, async () => {
        const { driver } = await kit.open();
        const claim = await runningJob(driver, { now: T0, maxAttempts: 3 });
        const now = at(5_000);
        const item = build(claim, now);
        const child = row({ kind: "child", createdAt: now, scheduledAt: now });
        item.followUps = item.run.outcome === "success" ? [child] : [];
        const [first] = await driver.jobFinalize({ items: [item], now });
        const before = await snapshot(driver, claim.id);
        const [replay] = await driver.jobFinalize({ items: [item], now: at(6_000) });
        expect(replay).toEqual({ applied: first!.applied, outcome: first!.outcome, children: [] });
        expect(await snapshot(driver, claim.id)).toEqual(before);
        expect((await driver.jobList({ kind: "child", limit: 10 })).length).toBe(item.followUps.length);
      });
    }

    kit.test("a replay after the job moved on to its next attempt leaves that attempt alone", async () => {
      const { driver } = await kit.open();
      const first = await runningJob(driver, { now: T0, maxAttempts: 3 });
      const item = retryItem(first, at(5_000), 0);
      await driver.jobFinalize({ items: [item], now: at(5_000) });
      const second = await claimJob(driver, first.id, at(6_000));
      const before = await snapshot(driver, first.id);
      expect(await driver.jobFinalize({ items: [item], now: at(7_000) })).toEqual([{ applied: true, outcome: "error", children: [] }]);
      expect(await snapshot(driver, first.id)).toEqual(before);
      expectFields(before.job, { state: "running", attempt: 2, leaseToken: second.leaseToken });
    });
  });
}

