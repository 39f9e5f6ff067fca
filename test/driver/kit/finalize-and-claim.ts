import { describe, expect } from "bun:test";
import { isDataRefusal } from "../../../src/core/errors.ts";
import type { FinalizeItem } from "../../../src/driver/types.ts";
import { T0, at, claimParams, getJob, jobFixture, row, snapshot, successItem } from "./factory.ts";
import type { Kit } from "./harness.ts";
import { expectFields, rejection } from "../../support/match.ts";

/** jobFinalizeAndClaim: the runner's steady state, a finalize and a claim as one transaction. */
export function finalizeAndClaimArea(kit: Kit): void {
  describe("jobFinalizeAndClaim", () => {
    kit.test("finalizes at the claim's instant, then claims under the claim's lease", async () => {
      const { driver } = await kit.open();
      const { claim: done } = await jobFixture(driver, { state: "running", now: T0 });
      const next = row({ priority: 1 });
      const after = row({ priority: 2 });
      const left = row({ priority: 3 });
      await driver.jobInsert({ jobs: [next, after, left] });
      const now = at(4_000);
      const params = claimParams(now, { limit: 2, leasedUntil: at(34_000), leaseToken: "token-2" });
      const { outcomes, jobs } = await driver.jobFinalizeAndClaim({ items: [successItem(done!, now, { n: 1 })], claim: params });
      expect(outcomes).toEqual([{ applied: true, outcome: "success", children: [] }]);
      expect(jobs.map((j) => j.id)).toEqual([next.id, after.id]);
      expectFields(jobs[0], { state: "running", attempt: 1, leasedUntil: at(34_000), leaseToken: "token-2", startedAt: now });
      expectFields(await getJob(driver, done!.id), { state: "succeeded", finalizedAt: now, updatedAt: now });
      expectFields(await driver.runList({ jobId: done!.id }), [{ outcome: "success", output: { n: 1 }, finishedAt: now }]);
      expectFields(await driver.runList({ jobId: next.id }), [{ id: jobs[0]!.runId, outcome: "started", startedAt: now }]);
      expectFields(await getJob(driver, left.id), { state: "available" });
    });

    kit.test("reports follow-ups and lost fences as jobFinalize does", async () => {
      const { driver } = await kit.open();
      const { claim: parent } = await jobFixture(driver, { state: "running", now: T0 });
      const { claim: lost } = await jobFixture(driver, { state: "running", now: T0 });
      await driver.jobCancel({ id: lost!.id, now: at(1_000) });
      const urgent = row({ priority: 0 });
      await driver.jobInsert({ jobs: [urgent] });
      const now = at(4_000);
      const child = row({ kind: "child", createdAt: now, scheduledAt: now });
      const { outcomes, jobs } = await driver.jobFinalizeAndClaim({
        items: [successItem(parent!, now, null, [child]), successItem(lost!, now)],
        claim: claimParams(now, { limit: 1 }),
      });
      expect(outcomes).toEqual([
        { applied: true, outcome: "success", children: [{ inserted: true, id: child.id }] },
        { applied: false, outcome: "cancelled", children: [] },
      ]);
      // The follow-up may or may not be seen by this claim; the more urgent job is taken either way.
      expect(jobs.map((j) => j.id)).toEqual([urgent.id]);
      expectFields(await driver.jobGet({ id: child.id }), { state: "available" });
    });

    kit.test("without items it is a claim; with a limit of 0 it is a finalize", async () => {
      const { driver } = await kit.open();
      const waiting = row();
      await driver.jobInsert({ jobs: [waiting] });
      const claimOnly = await driver.jobFinalizeAndClaim({ items: [], claim: claimParams(T0) });
      expectFields(claimOnly, { outcomes: [], jobs: [{ id: waiting.id, state: "running" }] });
      const spare = row();
      await driver.jobInsert({ jobs: [spare] });
      const now = at(1_000);
      const finalizeOnly = await driver.jobFinalizeAndClaim({ items: [successItem(claimOnly.jobs[0]!, now)], claim: claimParams(now, { limit: 0 }) });
      expect(finalizeOnly).toEqual({ outcomes: [{ applied: true, outcome: "success", children: [] }], jobs: [] });
      expectFields(await getJob(driver, waiting.id), { state: "succeeded" });
      expectFields(await getJob(driver, spare.id), { state: "available", attempt: 0 });
    });

    kit.test("an item the database refuses rolls the whole call back: no item applied, nothing claimed", async () => {
      const { driver } = await kit.open();
      const { claim: good } = await jobFixture(driver, { state: "running", now: T0 });
      const { claim: bad } = await jobFixture(driver, { state: "running", now: T0 });
      const waiting = row();
      await driver.jobInsert({ jobs: [waiting] });
      const before = [await snapshot(driver, good!.id), await snapshot(driver, bad!.id), await snapshot(driver, waiting.id)];
      const now = at(4_000);
      const refused: FinalizeItem = { ...successItem(bad!, now), job: { state: "exploded" as never, scheduledAt: null, maxAttemptsDelta: 0 } };
      const error = await rejection(driver.jobFinalizeAndClaim({ items: [successItem(good!, now), refused], claim: claimParams(now) }));
      expect(isDataRefusal(error)).toBe(true);
      expect([await snapshot(driver, good!.id), await snapshot(driver, bad!.id), await snapshot(driver, waiting.id)]).toEqual(before);
    });
  });
}
