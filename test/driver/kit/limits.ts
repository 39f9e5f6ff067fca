import { describe, expect } from "bun:test";
import type { LimitSaveRow } from "../../../src/driver/types.ts";
import { expectFields } from "../../support/match.ts";
import { T0, at, claimParams, row, successItem } from "./factory.ts";
import type { Kit } from "./harness.ts";

function limit(over: Partial<LimitSaveRow> & Pick<LimitSaveRow, "scope" | "name">): LimitSaveRow {
  return { concurrency: null, rateCount: null, rateWindowMs: null, now: T0, ...over };
}

/** Limits (limitSave, limitDelete, limitList) and the claim keeping to them (SPEC §18). */
export function limitsArea(kit: Kit): void {
  describe("limits", () => {
    kit.test("limitSave creates and replaces; limitList orders by scope then name; limitDelete says whether it existed", async () => {
      const { driver } = await kit.open();
      const saved = await driver.limitSave(limit({ scope: "queue", name: "mail", concurrency: 2 }));
      expectFields(saved, { scope: "queue", name: "mail", concurrency: 2, rateCount: null, rateWindowMs: null, createdAt: T0, updatedAt: T0 });
      await driver.limitSave(limit({ scope: "kind", name: "b", rateCount: 10, rateWindowMs: 60_000 }));
      await driver.limitSave(limit({ scope: "kind", name: "a", concurrency: 1 }));
      const replaced = await driver.limitSave(limit({ scope: "queue", name: "mail", rateCount: 5, rateWindowMs: 1_000, now: at(9) }));
      expectFields(replaced, { concurrency: null, rateCount: 5, rateWindowMs: 1_000, createdAt: T0, updatedAt: at(9) });
      expect((await driver.limitList({})).map((l) => [l.scope, l.name])).toEqual([["kind", "a"], ["kind", "b"], ["queue", "mail"]]);
      expect(await driver.limitDelete({ scope: "kind", name: "a" })).toBe(true);
      expect(await driver.limitDelete({ scope: "kind", name: "a" })).toBe(false);
      expect((await driver.limitList({})).map((l) => l.name)).toEqual(["b", "mail"]);
    });

    kit.test("a kind's concurrency limit caps the claim by running jobs; other kinds fill the free slots; a finish frees a slot", async () => {
      const { driver } = await kit.open();
      const capped = [1, 2, 3].map((n) => row({ kind: "capped", priority: n }));
      const other = row({ kind: "other", priority: 9 });
      await driver.jobInsert({ jobs: [...capped, other] });
      await driver.limitSave(limit({ scope: "kind", name: "capped", concurrency: 2 }));
      const first = await driver.jobClaim(claimParams(T0, { limit: 10 }));
      expect(first.map((j) => j.id)).toEqual([capped[0]!.id, capped[1]!.id, other.id]);
      expect(await driver.jobClaim(claimParams(T0))).toEqual([]);
      // The finish and the claim in one call: the freed slot is the claim's to take.
      const { jobs } = await driver.jobFinalizeAndClaim({ items: [successItem(first[0]!, at(1))], claim: claimParams(at(1)) });
      expect(jobs.map((j) => j.id)).toEqual([capped[2]!.id]);
    });

    kit.test("a queue's concurrency limit caps every kind on it, by a claim of any scope (every queue, its queue, ids)", async () => {
      const { driver } = await kit.open();
      const jobs = [row({ queue: "mail", kind: "a" }), row({ queue: "mail", kind: "b" }), row({ queue: "mail", kind: "c" })];
      await driver.jobInsert({ jobs });
      await driver.limitSave(limit({ scope: "queue", name: "mail", concurrency: 1 }));
      expect((await driver.jobClaim(claimParams(T0, { queues: ["mail"] }))).length).toBe(1);
      expect(await driver.jobClaim(claimParams(T0, { queues: ["mail", "other"] }))).toEqual([]);
      expect(await driver.jobClaim(claimParams(T0, { ids: jobs.map((j) => j.id) }))).toEqual([]);
      expect(await driver.jobClaim(claimParams(T0))).toEqual([]);
    });

    kit.test("a rate limit counts attempts started in the window ending now, whatever became of them", async () => {
      const { driver } = await kit.open();
      const jobs = Array.from({ length: 5 }, (_, n) => row({ kind: "rated", priority: n }));
      await driver.jobInsert({ jobs });
      await driver.limitSave(limit({ scope: "kind", name: "rated", rateCount: 2, rateWindowMs: 60_000 }));
      const first = await driver.jobClaim(claimParams(T0));
      expect(first.map((j) => j.id)).toEqual([jobs[0]!.id, jobs[1]!.id]);
      // Finished attempts still count: the rate is of starts, not of running jobs.
      await driver.jobFinalize({ items: first.map((j) => successItem(j, at(1))), now: at(1) });
      expect(await driver.jobClaim(claimParams(at(59_999)))).toEqual([]);
      expect((await driver.jobClaim(claimParams(at(60_000)))).map((j) => j.id)).toEqual([jobs[2]!.id, jobs[3]!.id]);
      expect(await driver.jobClaim(claimParams(at(60_001)))).toEqual([]);
    });

    kit.test("a job under a kind limit and a queue limit takes the tighter; spent limits leave the rest claimable in order", async () => {
      const { driver } = await kit.open();
      const a1 = row({ kind: "a", queue: "q", priority: 1 });
      const a2 = row({ kind: "a", queue: "q", priority: 2 });
      const b1 = row({ kind: "b", queue: "q", priority: 3 });
      const c1 = row({ kind: "c", queue: "r", priority: 4 });
      await driver.jobInsert({ jobs: [a1, a2, b1, c1] });
      await driver.limitSave(limit({ scope: "kind", name: "a", concurrency: 5 }));
      await driver.limitSave(limit({ scope: "queue", name: "q", concurrency: 1, rateCount: 10, rateWindowMs: 1_000 }));
      expect((await driver.jobClaim(claimParams(T0))).map((j) => j.id)).toEqual([a1.id, c1.id]);
    });

    kit.test("limitDelete lifts the limit: its jobs are claimable at once", async () => {
      const { driver } = await kit.open();
      const jobs = [row({ kind: "x" }), row({ kind: "x" })];
      await driver.jobInsert({ jobs });
      await driver.limitSave(limit({ scope: "kind", name: "x", concurrency: 1 }));
      expect((await driver.jobClaim(claimParams(T0))).length).toBe(1);
      expect(await driver.jobClaim(claimParams(T0))).toEqual([]);
      await driver.limitDelete({ scope: "kind", name: "x" });
      expect((await driver.jobClaim(claimParams(T0))).length).toBe(1);
    });

    kit.test("two drivers claiming at once under a concurrency limit never claim past it", async () => {
      const { driver, openPeer } = await kit.open();
      const peer = await openPeer();
      await driver.jobInsert({ jobs: Array.from({ length: 40 }, () => row({ kind: "x" })) });
      await driver.limitSave(limit({ scope: "kind", name: "x", concurrency: 3 }));
      const claims = await Promise.all(Array.from({ length: 8 }, (_, n) => (n % 2 === 0 ? driver : peer).jobClaim(claimParams(T0, { limit: 2 }))));
      expect(claims.flat().length).toBe(3);
    });
  });
}
