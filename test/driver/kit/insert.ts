import { describe, expect } from "bun:test";
import { isDataRefusal } from "../../../src/core/errors.ts";
import type { JobState } from "../../../src/core/types.ts";
import { T0, at, jobFixture, row } from "./factory.ts";
import type { Kit } from "./harness.ts";
import { expectFields, rejection } from "../../support/match.ts";

/** jobInsert: rows as given, input order, unique collisions reported with their holder, the outbox. */
export function insertArea(kit: Kit): void {
  describe("jobInsert", () => {
    kit.test("stores every column as given and reads it back through jobGet", async () => {
      const { driver } = await kit.open();
      const parent = row();
      const child = row({
        kind: "mail.send",
        queue: "mail",
        args: { to: "zoë@example.com", lines: ["ü", "✓"], n: 3, nested: { ok: true } },
        priority: 7,
        maxAttempts: 3,
        timeoutMs: 1_500,
        scheduledAt: at(-2_000),
        uniqueKey: "u-1",
        uniqueActiveKey: "ua-1",
        parentJobId: parent.id,
        rootJobId: parent.id,
        executorClass: "gpu",
        tags: ["a", "b"],
        metadata: { request_id: "req-1", nested: { n: 1 } },
        createdAt: at(-1_000),
      });
      expect(await driver.jobInsert({ jobs: [parent, child] })).toEqual([
        { inserted: true, id: parent.id },
        { inserted: true, id: child.id },
      ]);
      expect(await driver.jobGet({ id: child.id })).toEqual({
        id: child.id,
        kind: "mail.send",
        queue: "mail",
        args: { to: "zoë@example.com", lines: ["ü", "✓"], n: 3, nested: { ok: true } },
        priority: 7,
        state: "available",
        attempt: 0,
        maxAttempts: 3,
        timeoutMs: 1_500,
        scheduledAt: at(-2_000),
        leasedUntil: null,
        leaseToken: null,
        uniqueKey: "u-1",
        uniqueActiveKey: "ua-1",
        parentJobId: parent.id,
        executorClass: "gpu",
        tags: ["a", "b"],
        metadata: { request_id: "req-1", nested: { n: 1 } },
        createdAt: at(-1_000),
        updatedAt: at(-1_000),
        finalizedAt: null,
        deletedAt: null,
        rootJobId: parent.id,
        waitReason: null,
        wakeAt: null,
        wakeSeq: 0,
      });
    });

    kit.test("a batch stores each row as given, whichever columns its rows share and whichever differ", async () => {
      const { driver } = await kit.open();
      const parent = row();
      const rows = [
        row({ args: { n: 1 } }),
        row({ kind: "other", queue: "q2", args: { n: 2 }, priority: -3, maxAttempts: 1, timeoutMs: 2_000, tags: ["t"], metadata: { m: 1 } }),
        row({ args: "text", state: "scheduled", scheduledAt: at(5_000), parentJobId: parent.id, rootJobId: parent.id, executorClass: "gpu", createdAt: at(-10) }),
        row({ args: { n: 1 }, uniqueActiveKey: "k" }),
      ];
      await driver.jobInsert({ jobs: [parent] });
      expect(await driver.jobInsert({ jobs: rows })).toEqual(rows.map((r) => ({ inserted: true, id: r.id })));
      for (const r of rows) {
        expectFields(await driver.jobGet({ id: r.id }), {
          kind: r.kind,
          queue: r.queue,
          args: JSON.parse(r.argsJson),
          priority: r.priority,
          state: r.state,
          maxAttempts: r.maxAttempts,
          timeoutMs: r.timeoutMs,
          scheduledAt: r.scheduledAt,
          uniqueKey: r.uniqueKey,
          uniqueActiveKey: r.uniqueActiveKey,
          parentJobId: r.parentJobId,
          rootJobId: r.rootJobId,
          executorClass: r.executorClass,
          tags: r.tags,
          metadata: r.metadata,
          createdAt: r.createdAt,
          updatedAt: r.createdAt,
        });
      }
    });

    kit.test("a name holding a lone surrogate is stored the same in a batch as alone", async () => {
      const { driver } = await kit.open();
      // In text columns: PostgreSQL refuses one in JSON (tags), which the errors area covers.
      const alone = row({ queue: "q\ud800", uniqueKey: "u\udc00" });
      const batch = [row({ queue: "q\ud800", uniqueKey: "v\udc00" }), row({ queue: "plain" })];
      await driver.jobInsert({ jobs: [alone] });
      await driver.jobInsert({ jobs: batch });
      const stored = await driver.jobGet({ id: alone.id });
      expectFields(await driver.jobGet({ id: batch[0]!.id }), { queue: stored!.queue, uniqueKey: stored!.uniqueKey!.replace(/^u/, "v") });
    });

    kit.test("a scheduled row stays scheduled at its time", async () => {
      const { driver } = await kit.open();
      const later = row({ state: "scheduled", scheduledAt: at(60_000) });
      await driver.jobInsert({ jobs: [later] });
      expectFields(await driver.jobGet({ id: later.id }), { state: "scheduled", scheduledAt: at(60_000), attempt: 0 });
    });

    kit.test("an empty batch inserts nothing", async () => {
      const { driver } = await kit.open();
      expect(await driver.jobInsert({ jobs: [] })).toEqual([]);
      expect(await driver.jobList({ limit: 10 })).toEqual([]);
    });

    kit.test("outcomes come in input order; a collision is skipped and names the holder, even inside one batch", async () => {
      const { driver } = await kit.open();
      const held = (await jobFixture(driver, { state: "available", now: T0, uniqueKey: "held" })).job;
      const first = row({ uniqueKey: "dup" });
      const second = row({ uniqueKey: "dup" });
      const plain = row();
      const taken = row({ uniqueKey: "held" });
      expect(await driver.jobInsert({ jobs: [first, second, plain, taken] })).toEqual([
        { inserted: true, id: first.id },
        { inserted: false, id: first.id, key: "unique_key", value: "dup" },
        { inserted: true, id: plain.id },
        { inserted: false, id: held.id, key: "unique_key", value: "held" },
      ]);
      expect(await driver.jobGet({ id: second.id })).toBeNull();
      expect(await driver.jobGet({ id: taken.id })).toBeNull();
    });

    kit.test("a unique_key collides with a job that ever held it, finished or not", async () => {
      const { driver } = await kit.open();
      for (const state of ["available", "running", "succeeded", "cancelled", "discarded"] as const) {
        const holder = (await jobFixture(driver, { state, now: T0, uniqueKey: `forever-${state}` })).job;
        const again = row({ uniqueKey: `forever-${state}` });
        expect(await driver.jobInsert({ jobs: [again] })).toEqual([{ inserted: false, id: holder.id, key: "unique_key", value: `forever-${state}` }]);
      }
    });

    kit.test("a unique_active_key collides only while its holder is not terminal", async () => {
      const { driver } = await kit.open();
      const active: JobState[] = ["available", "scheduled", "running", "retryable"];
      for (const state of active) {
        const holder = (await jobFixture(driver, { state, now: T0, uniqueActiveKey: `active-${state}` })).job;
        expect(await driver.jobInsert({ jobs: [row({ uniqueActiveKey: `active-${state}` })] })).toEqual([
          { inserted: false, id: holder.id, key: "unique_active_key", value: `active-${state}` },
        ]);
      }
      for (const state of ["succeeded", "cancelled", "discarded"] as const) {
        await jobFixture(driver, { state, now: T0, uniqueActiveKey: `done-${state}` });
        const next = row({ uniqueActiveKey: `done-${state}` });
        expect(await driver.jobInsert({ jobs: [next] })).toEqual([{ inserted: true, id: next.id }]);
      }
    });

    kit.test("a row colliding on both keys reports its unique_key", async () => {
      const { driver } = await kit.open();
      const holder = (await jobFixture(driver, { state: "available", now: T0, uniqueKey: "k", uniqueActiveKey: "ak" })).job;
      expect(await driver.jobInsert({ jobs: [row({ uniqueKey: "k", uniqueActiveKey: "ak" })] })).toEqual([
        { inserted: false, id: holder.id, key: "unique_key", value: "k" },
      ]);
    });

    kit.test("with tx, the row is written on the caller's transaction: it exists if and only if that commits", async () => {
      const { driver, transaction } = await kit.open();
      const kept = row({ kind: "outbox.kept" });
      const dropped = row({ kind: "outbox.dropped" });
      expect(await transaction((tx) => driver.jobInsert({ jobs: [kept], tx }), "commit")).toEqual([{ inserted: true, id: kept.id }]);
      expect(await transaction((tx) => driver.jobInsert({ jobs: [dropped], tx }), "rollback")).toEqual([{ inserted: true, id: dropped.id }]);
      expectFields(await driver.jobGet({ id: kept.id }), { kind: "outbox.kept", state: "available" });
      expect(await driver.jobGet({ id: dropped.id })).toBeNull();
    });

    kit.test("jobInsertSync, where a dialect has it, throws a refusal inside the caller's transaction, which rolls back whole", async () => {
      const { driver, transaction } = await kit.open();
      // Only dialects with synchronous transactions (bun:sqlite) have it; the others have nothing to prove here.
      const insertSync = driver.jobInsertSync?.bind(driver);
      if (!insertSync) return;
      const first = row();
      const refused = { ...row(), state: "exploded" as never };
      const error = await rejection(
        transaction((tx) => {
          insertSync({ jobs: [first], tx });
          insertSync({ jobs: [refused], tx });
          return Promise.resolve();
        }, "commit"),
      );
      expect(isDataRefusal(error)).toBe(true);
      expect(await driver.jobGet({ id: first.id })).toBeNull();
    });
  });
}
