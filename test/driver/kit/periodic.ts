import { describe, expect } from "bun:test";
import { newId } from "../../../src/core/id.ts";
import { OVERLAP_SKIP_REASON } from "../../../src/core/skip-reason.ts";
import type { PeriodicRecord } from "../../../src/core/types.ts";
import type { PeriodicFireParams } from "../../../src/driver/types.ts";
import { T0, at, jobFixture, periodicRow, row, type AnyDriver } from "./factory.ts";
import type { Kit } from "./harness.ts";
import { expectFields } from "../../support/match.ts";

/** A fire of `p` due at its `nextRunAt`, advancing it a minute, enqueueing `jobs`, at `now`. */
function fireOf(p: PeriodicRecord, now: Date, over: Partial<PeriodicFireParams> = {}): PeriodicFireParams {
  return {
    id: p.id,
    expectedNextRunAt: p.nextRunAt,
    nextRunAt: new Date(p.nextRunAt.getTime() + 60_000),
    jobs: [],
    skipped: 0,
    skipReason: null,
    now,
    ...over,
  };
}

async function get(driver: AnyDriver, slug: string): Promise<PeriodicRecord> {
  const p = await driver.periodicGet({ slug });
  if (!p) throw new Error(`kit: periodic ${slug} not found`);
  return p;
}

/** Periodics: save, get, list, listDue, fire, recordError, setActive, delete, deactivateMissing. */
export function periodicArea(kit: Kit): void {
  describe("periodics", () => {
    kit.test("periodicNextRunAt: the earliest next fire of the active periodics, null when none is active", async () => {
      const { driver } = await kit.open();
      expect(await driver.periodicNextRunAt({})).toBeNull();
      await driver.periodicSave(periodicRow("later", { nextRunAt: at(120_000) }));
      await driver.periodicSave(periodicRow("sooner", { nextRunAt: at(60_000) }));
      await driver.periodicSave(periodicRow("paused", { nextRunAt: at(1_000), isActive: false }));
      expect(await driver.periodicNextRunAt({})).toEqual(at(60_000));
    });

    kit.test("periodicRecordRun keeps the last run and the failure streak; periodicSetActive records who paused", async () => {
      const { driver } = await kit.open();
      await driver.periodicSave(periodicRow("backup"));
      const run = (succeeded: boolean, n: number) =>
        driver.periodicRecordRun({ slug: "backup", jobId: `job-${n}`, outcome: succeeded ? "succeeded" : "discarded", succeeded, exitCode: succeeded ? 0 : 3, durationMs: n * 10, finishedAt: at(n * 1_000) });
      expect(await run(false, 1)).toEqual({ failuresBefore: 0, failuresAfter: 1 });
      expect(await run(false, 2)).toEqual({ failuresBefore: 1, failuresAfter: 2 });
      expectFields(await get(driver, "backup"), { lastJobId: "job-2", lastOutcome: "discarded", lastExitCode: 3, lastDurationMs: 20, lastFinishedAt: at(2_000), lastSuccessAt: null, consecutiveFailures: 2 });
      expect(await run(true, 3)).toEqual({ failuresBefore: 2, failuresAfter: 0 });
      expectFields(await get(driver, "backup"), { lastOutcome: "succeeded", lastExitCode: 0, lastSuccessAt: at(3_000), consecutiveFailures: 0 });
      expect(await driver.periodicRecordRun({ slug: "gone", jobId: "x", outcome: "succeeded", succeeded: true, exitCode: null, durationMs: null, finishedAt: T0 })).toBeNull();
      expect(await driver.periodicSetActive({ slug: "backup", active: false, now: at(4_000), pausedBy: "operator" })).toBe(true);
      expectFields(await get(driver, "backup"), { isActive: false, pausedBy: "operator" });
      await driver.periodicSetActive({ slug: "backup", active: true, now: at(5_000) });
      expectFields(await get(driver, "backup"), { isActive: true, pausedBy: null });
    });

    kit.test("periodicSave inserts a new schedule with clean counters; periodicGet reads it, null for an unknown slug", async () => {
      const { driver } = await kit.open();
      const saved = await driver.periodicSave(periodicRow("nightly", { cron: "0 3 * * *", intervalSeconds: null, timezone: "Europe/Berlin", maxAttempts: 2, priority: 5, timeoutMs: 9_000, jitterMs: 600_000, source: "config:a", catchUp: "latest", overlap: "allow", backfill: 3 }));
      expect(saved).toEqual({
        id: expect.any(String),
        slug: "nightly",
        kind: "tick",
        queue: "periodic",
        args: { n: 1 },
        cron: "0 3 * * *",
        intervalSeconds: null,
        timezone: "Europe/Berlin",
        overlap: "allow",
        catchUp: "latest",
        backfill: 3,
        maxAttempts: 2,
        priority: 5,
        timeoutMs: 9_000,
        jitterMs: 600_000,
        source: "config:a",
        skippedCount: 0,
        lastSkippedAt: null,
        lastSkipReason: null,
        lastJobId: null,
        lastOutcome: null,
        lastExitCode: null,
        lastDurationMs: null,
        lastFinishedAt: null,
        lastSuccessAt: null,
        consecutiveFailures: 0,
        pausedBy: null,
        lastError: null,
        lastErrorAt: null,
        nextRunAt: at(60_000),
        lastEnqueuedAt: null,
        isActive: true,
        createdAt: T0,
        updatedAt: T0,
      });
      expect(await driver.periodicGet({ slug: "nightly" })).toEqual(saved);
      expect(await driver.periodicGet({ slug: "nope" })).toBeNull();
    });

    kit.test("saving an existing slug replaces the schedule but keeps its id, creation time and skip counters", async () => {
      const { driver } = await kit.open();
      const first = await driver.periodicSave(periodicRow("p", { jitterMs: 30_000 }));
      await driver.periodicFire(fireOf(first, at(60_000), { skipped: 2, skipReason: "catch_up" }));
      const counted = await get(driver, "p");
      const replaced = await driver.periodicSave(periodicRow("p", { cron: "*/5 * * * *", intervalSeconds: null, kind: "tock", nextRunAt: at(300_000), now: at(70_000) }));
      expectFields(replaced, {
        id: first.id,
        kind: "tock",
        jitterMs: null,
        cron: "*/5 * * * *",
        intervalSeconds: null,
        nextRunAt: at(300_000),
        createdAt: T0,
        updatedAt: at(70_000),
        skippedCount: 2,
        lastSkippedAt: counted.lastSkippedAt,
        lastSkipReason: "catch_up",
      });
    });

    kit.test("periodicList: every periodic, by slug", async () => {
      const { driver } = await kit.open();
      for (const slug of ["c", "a", "b"]) await driver.periodicSave(periodicRow(slug, { isActive: slug !== "b" }));
      expect((await driver.periodicList({})).map((p) => [p.slug, p.isActive])).toEqual([
        ["a", true],
        ["b", false],
        ["c", true],
      ]);
    });

    kit.test("periodicListDue: active periodics due by now, earliest first, up to the limit", async () => {
      const { driver } = await kit.open();
      await driver.periodicSave(periodicRow("later", { nextRunAt: at(20_000) }));
      await driver.periodicSave(periodicRow("sooner", { nextRunAt: at(5_000) }));
      await driver.periodicSave(periodicRow("exactly", { nextRunAt: at(10_000) }));
      await driver.periodicSave(periodicRow("paused", { nextRunAt: at(1_000), isActive: false }));
      const due = async (now: Date, limit = 10) => (await driver.periodicListDue({ now, limit })).map((p) => p.slug);
      expect(await due(at(10_000))).toEqual(["sooner", "exactly"]);
      expect(await due(at(30_000), 2)).toEqual(["sooner", "exactly"]);
      expect(await due(at(30_000))).toEqual(["sooner", "exactly", "later"]);
      expect(await due(T0)).toEqual([]);
    });

    kit.test("periodicFire: inserts the fire's jobs and advances next_run_at; a second fire of the same time changes nothing", async () => {
      const { driver } = await kit.open();
      const p = await driver.periodicSave(periodicRow("p"));
      const now = at(60_000);
      const job = row({ kind: "tick", queue: "periodic", uniqueKey: "periodic:p@60", createdAt: now, scheduledAt: now });
      expect(await driver.periodicFire(fireOf(p, now, { jobs: [job] }))).toEqual({ fired: true, inserted: [{ inserted: true, id: job.id }] });
      const fired = await get(driver, "p");
      expectFields(fired, { nextRunAt: at(120_000), lastEnqueuedAt: now, skippedCount: 0 });
      expectFields(await driver.jobGet({ id: job.id }), { state: "available", uniqueKey: "periodic:p@60" });

      const again = row({ kind: "tick", queue: "periodic", uniqueKey: "periodic:p@60-again" });
      expect(await driver.periodicFire(fireOf(p, at(61_000), { jobs: [again] }))).toEqual({ fired: false, inserted: [] });
      expect(await get(driver, "p")).toEqual(fired);
      expect(await driver.jobGet({ id: again.id })).toBeNull();
    });

    kit.test("periodicFire: of two schedulers firing the same time at once, exactly one fires", async () => {
      const { driver, openPeer } = await kit.open();
      const peer = await openPeer();
      const p = await driver.periodicSave(periodicRow("p"));
      const now = at(60_000);
      const mine = row({ uniqueKey: "periodic:p@60" });
      const theirs = row({ uniqueKey: "periodic:p@60" });
      const results = await Promise.all([driver.periodicFire(fireOf(p, now, { jobs: [mine] })), peer.periodicFire(fireOf(p, now, { jobs: [theirs] }))]);
      expect(results.filter((r) => r.fired)).toHaveLength(1);
      expect(await driver.jobList({ limit: 10 })).toHaveLength(1);
      expect((await get(driver, "p")).nextRunAt).toEqual(at(120_000));
    });

    kit.test("periodicFire counts catch-up skips and overlap collisions; a unique_key collision is reported, not counted", async () => {
      const { driver } = await kit.open();
      const p = await driver.periodicSave(periodicRow("p"));
      const first = at(60_000);
      expect(await driver.periodicFire(fireOf(p, first, { skipped: 2, skipReason: "catch_up" }))).toEqual({ fired: true, inserted: [] });
      expectFields(await get(driver, "p"), { skippedCount: 2, lastSkippedAt: first, lastSkipReason: "catch_up", lastEnqueuedAt: null });

      const holder = (await jobFixture(driver, { state: "running", now: first, uniqueActiveKey: "periodic:p" })).job;
      const fired = (await jobFixture(driver, { state: "succeeded", now: first, uniqueKey: "periodic:p@120" })).job;
      const second = at(120_000);
      const overlapping = row({ uniqueActiveKey: "periodic:p", uniqueKey: "periodic:p@121" });
      const doubled = row({ uniqueKey: "periodic:p@120" });
      const result = await driver.periodicFire(fireOf(await get(driver, "p"), second, { jobs: [overlapping, doubled] }));
      expect(result).toEqual({
        fired: true,
        inserted: [
          { inserted: false, id: holder.id, key: "unique_active_key", value: "periodic:p" },
          { inserted: false, id: fired.id, key: "unique_key", value: "periodic:p@120" },
        ],
      });
      expectFields(await get(driver, "p"), { skippedCount: 3, lastSkippedAt: second, lastSkipReason: OVERLAP_SKIP_REASON, lastEnqueuedAt: null, nextRunAt: at(180_000) });
    });

    kit.test("periodicRecordError records why a periodic could not fire until its next fire clears it; false when gone", async () => {
      const { driver } = await kit.open();
      const p = await driver.periodicSave(periodicRow("p"));
      expect(await driver.periodicRecordError({ id: p.id, error: "kind not registered", now: at(60_000) })).toBe(true);
      expectFields(await get(driver, "p"), { lastError: "kind not registered", lastErrorAt: at(60_000), nextRunAt: at(60_000) });
      await driver.periodicFire(fireOf(p, at(61_000)));
      expectFields(await get(driver, "p"), { lastError: null, lastErrorAt: null });
      expect(await driver.periodicRecordError({ id: newId(), error: "x", now: T0 })).toBe(false);
    });

    kit.test("periodicSetActive pauses and resumes; false for an unknown slug", async () => {
      const { driver } = await kit.open();
      await driver.periodicSave(periodicRow("p", { nextRunAt: at(1_000) }));
      expect(await driver.periodicSetActive({ slug: "p", active: false, now: at(500) })).toBe(true);
      expectFields(await get(driver, "p"), { isActive: false, updatedAt: at(500) });
      expect(await driver.periodicListDue({ now: at(2_000), limit: 10 })).toEqual([]);
      expect(await driver.periodicSetActive({ slug: "p", active: true, now: at(600) })).toBe(true);
      expect((await driver.periodicListDue({ now: at(2_000), limit: 10 })).map((d) => d.slug)).toEqual(["p"]);
      expect(await driver.periodicSetActive({ slug: "nope", active: false, now: T0 })).toBe(false);
    });

    kit.test("periodicDelete removes a periodic; false when there is none", async () => {
      const { driver } = await kit.open();
      await driver.periodicSave(periodicRow("p"));
      expect(await driver.periodicDelete({ slug: "p" })).toBe(true);
      expect(await driver.periodicGet({ slug: "p" })).toBeNull();
      expect(await driver.periodicDelete({ slug: "p" })).toBe(false);
    });

    kit.test("periodicDeactivateMissing deactivates only the source's active periodics left out of keep", async () => {
      const { driver } = await kit.open();
      for (const slug of ["a", "b", "c"]) await driver.periodicSave(periodicRow(slug, { source: "config:x" }));
      await driver.periodicSave(periodicRow("d", { source: "config:y" }));
      await driver.periodicSave(periodicRow("e", { source: "config:x", isActive: false }));
      expect(await driver.periodicDeactivateMissing({ source: "config:x", keep: ["b"], now: at(1_000) })).toEqual(["a", "c"]);
      expect((await driver.periodicList({})).map((p) => [p.slug, p.isActive])).toEqual([
        ["a", false],
        ["b", true],
        ["c", false],
        ["d", true],
        ["e", false],
      ]);
      expectFields(await get(driver, "a"), { updatedAt: at(1_000) });
      expect(await driver.periodicDeactivateMissing({ source: "config:x", keep: [], now: at(2_000) })).toEqual(["b"]);
      expect(await driver.periodicDeactivateMissing({ source: "config:x", keep: [], now: at(3_000) })).toEqual([]);
    });
  });
}
