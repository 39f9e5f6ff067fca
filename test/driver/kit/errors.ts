import { describe, expect } from "bun:test";
import { FlywheelError, isDataRefusal } from "../../../src/core/errors.ts";
import type { FinalizeItem } from "../../../src/driver/types.ts";
import { T0, at, claimParams, jobFixture, periodicRow, row, snapshot, successItem } from "./factory.ts";
import type { Kit } from "./harness.ts";
import { expectFields, rejection } from "../../support/match.ts";

/**
 * Asserts the seam's contract on an error from the database: a FlywheelError whose message starts with the
 * path's prefix and keeps the original error's text, the original kept as `cause`.
 */
function expectNormalised(error: unknown, prefix: "jobs:" | "flywheel:"): FlywheelError {
  expect(error).toBeInstanceOf(FlywheelError);
  const e = error as FlywheelError;
  expect(e.message.startsWith(prefix)).toBe(true);
  expect(e.cause).toBeDefined();
  const original = e.cause instanceof Error ? e.cause.message : String(e.cause);
  expect(e.message).toContain(original);
  return e;
}

/** Error normalisation at the seam: only FlywheelErrors leave a driver method. */
export function errorsArea(kit: Kit): void {
  describe("errors", () => {
    kit.test("a row whose id is taken is a unique violation: conflict", async () => {
      const { driver } = await kit.open();
      const taken = row();
      await driver.jobInsert({ jobs: [taken] });
      const error = await rejection(driver.jobInsert({ jobs: [{ ...row({ kind: "twin" }), id: taken.id }] }));
      expect(error).toBeInstanceOf(FlywheelError);
      expect((error as FlywheelError).code).toBe("conflict");
      expect((error as FlywheelError).message.startsWith("flywheel:")).toBe(true);
      expectFields(await driver.jobGet({ id: taken.id }), { kind: "kit" });
    });

    kit.test("a batch refused for a taken id stores none of its rows", async () => {
      const { driver } = await kit.open();
      const taken = row();
      await driver.jobInsert({ jobs: [taken] });
      const fresh = row();
      expect(await rejection(driver.jobInsert({ jobs: [fresh, { ...row(), id: taken.id }] }))).toBeInstanceOf(FlywheelError);
      expect(await driver.jobGet({ id: fresh.id })).toBeNull();
    });

    kit.test("a row carrying a unique key whose id is taken is a conflict too", async () => {
      const { driver } = await kit.open();
      const taken = row();
      await driver.jobInsert({ jobs: [taken] });
      const error = await rejection(driver.jobInsert({ jobs: [{ ...row({ uniqueKey: "fresh-key" }), id: taken.id }] }));
      expect(error).toBeInstanceOf(FlywheelError);
      expect((error as FlywheelError).code).toBe("conflict");
      expectFields(await driver.jobInsert({ jobs: [row({ uniqueKey: "fresh-key" })] }), [{ inserted: true }]);
    });

    kit.test("a row the database refuses (a state its CHECK forbids) is a data refusal, and nothing of the batch is stored", async () => {
      const { driver } = await kit.open();
      const fresh = row();
      const refused = { ...row(), state: "exploded" as never };
      const error = expectNormalised(await rejection(driver.jobInsert({ jobs: [fresh, refused] })), "flywheel:");
      expect(isDataRefusal(error)).toBe(true);
      expect(await driver.jobGet({ id: fresh.id })).toBeNull();
      expect(await driver.jobGet({ id: refused.id })).toBeNull();
    });

    kit.test("a finalize item with a state the CHECK forbids is a data refusal, and the whole batch changes nothing", async () => {
      const { driver } = await kit.open();
      const { claim: good } = await jobFixture(driver, { state: "running", now: T0 });
      const { claim: bad } = await jobFixture(driver, { state: "running", now: T0 });
      const before = [await snapshot(driver, good!.id), await snapshot(driver, bad!.id)];
      const now = at(1_000);
      const refused: FinalizeItem = { ...successItem(bad!, now), job: { state: "exploded" as never, scheduledAt: null, maxAttemptsDelta: 0 } };
      const error = expectNormalised(await rejection(driver.jobFinalize({ items: [successItem(good!, now, null, [row()]), refused], now })), "jobs:");
      expect(isDataRefusal(error)).toBe(true);
      expect([await snapshot(driver, good!.id), await snapshot(driver, bad!.id)]).toEqual(before);
      expect(await driver.jobList({ limit: 10 })).toHaveLength(2);
    });

    kit.test("a periodic the database refuses (neither cron nor interval) is a data refusal", async () => {
      const { driver } = await kit.open();
      const refused = periodicRow("broken", { cron: null, intervalSeconds: null });
      const error = expectNormalised(await rejection(driver.periodicSave(refused)), "flywheel:");
      expect(isDataRefusal(error)).toBe(true);
      expect(await driver.periodicGet({ slug: "broken" })).toBeNull();
    });

    kit.test("a closed driver refuses every call with closed; closing again is harmless", async () => {
      const { driver } = await kit.open();
      const { claim } = await jobFixture(driver, { state: "running", now: T0 });
      await driver.close();
      await driver.close();
      const calls: Array<[string, () => Promise<unknown>]> = [
        ["jobGet", () => driver.jobGet({ id: claim!.id })],
        ["jobInsert", () => driver.jobInsert({ jobs: [row()] })],
        ["jobClaim", () => driver.jobClaim(claimParams(T0))],
        ["jobFinalize", () => driver.jobFinalize({ items: [successItem(claim!, at(1_000))], now: at(1_000) })],
        ["leaseRenew", () => driver.leaseRenew({ leases: [{ jobId: claim!.id, leaseToken: claim!.leaseToken! }], leasedUntil: at(60_000), now: T0 })],
        ["periodicList", () => driver.periodicList({})],
        ["schemaVersion", () => driver.schemaVersion()],
        ["dbCheck", () => driver.dbCheck({})],
      ];
      for (const [name, call] of calls) {
        const error = await rejection(call());
        expect([name, error instanceof FlywheelError ? error.code : String(error)]).toEqual([name, "closed"]);
      }
      // Subscribing to a closed driver is not an error: there is just nothing to wake up for.
      const unsubscribe = driver.wakeSubscribe({ listener: () => {} });
      unsubscribe();
    });
  });
}
