import { describe, expect } from "bun:test";
import { newId } from "../../../src/core/id.ts";
import type { JobState } from "../../../src/core/types.ts";
import { T0, at, claimJob, discardItem, jobFixture, retryItem, row } from "./factory.ts";
import type { Kit } from "./harness.ts";

/** Reads: jobGet, jobIdsByPrefix, jobList, jobListByKeyPrefix, runList, jobCountByKind, queueStatsGet, jobCensus, jobListFailures. */
export function readArea(kit: Kit): void {
  describe("reads", () => {
    kit.test("jobGet: null for an unknown id", async () => {
      const { driver } = await kit.open();
      expect(await driver.jobGet({ id: newId() })).toBeNull();
    });

    kit.test("jobIdsByPrefix: ids starting with a prefix, in order, up to the limit; pattern characters match nothing", async () => {
      const { driver } = await kit.open();
      const ids = (await driver.jobInsert({ jobs: [row(), row(), row()] })).map((o) => o.id).sort();
      expect(await driver.jobIdsByPrefix({ prefix: ids[0]!, limit: 2 })).toEqual([ids[0]!]);
      // UUIDv7 ids made in one millisecond share their first 12 characters.
      const shared = ids[0]!.slice(0, 8);
      const matching = ids.filter((id) => id.startsWith(shared));
      expect(await driver.jobIdsByPrefix({ prefix: shared, limit: 10 })).toEqual(matching);
      expect(await driver.jobIdsByPrefix({ prefix: shared, limit: 1 })).toEqual(matching.slice(0, 1));
      expect(await driver.jobIdsByPrefix({ prefix: "zzzzzzzz", limit: 10 })).toEqual([]);
      expect(await driver.jobIdsByPrefix({ prefix: "%", limit: 10 })).toEqual([]);
      expect(await driver.jobIdsByPrefix({ prefix: "*", limit: 10 })).toEqual([]);
    });

    kit.test("jobList: newest first, filtered by state, kind and queue, up to the limit", async () => {
      const { driver } = await kit.open();
      const make = async (kind: string, queue: string, state: JobState) => (await jobFixture(driver, { state, now: T0, kind, queue })).job;
      const a1 = await make("a", "q1", "available");
      const b1 = await make("b", "q2", "available");
      const a2 = await make("a", "q2", "succeeded");
      const b2 = await make("b", "q1", "running");
      const a3 = await make("a", "q1", "discarded");
      const ids = async (p: Parameters<typeof driver.jobList>[0]) => (await driver.jobList(p)).map((j) => j.id);
      expect(await ids({ limit: 10 })).toEqual([a3.id, b2.id, a2.id, b1.id, a1.id]);
      expect(await ids({ limit: 2 })).toEqual([a3.id, b2.id]);
      expect(await ids({ kind: "a", limit: 10 })).toEqual([a3.id, a2.id, a1.id]);
      expect(await ids({ queue: "q1", limit: 10 })).toEqual([a3.id, b2.id, a1.id]);
      expect(await ids({ state: "available", limit: 10 })).toEqual([b1.id, a1.id]);
      expect(await ids({ state: "discarded", limit: 10 })).toEqual([a3.id]);
      expect(await ids({ kind: "a", queue: "q1", state: "available", limit: 10 })).toEqual([a1.id]);
      expect(await ids({ kind: "none", limit: 10 })).toEqual([]);
      expect(await driver.jobList({ kind: "b", state: "running", limit: 10 })).toEqual([b2]);
    });

    kit.test("jobListByKeyPrefix: jobs whose unique key starts with the prefix, newest first, newer than `after`", async () => {
      const { driver } = await kit.open();
      const keyed = (uniqueKey: string | null) => row({ uniqueKey });
      // Neighbours of the prefix in every direction: a longer slug, a shorter one, the next character, no key.
      const jobs = [
        keyed("periodic:nightly@100"),
        keyed("periodic:nightly-2@100"),
        keyed("periodic:nightly@manual:5"),
        keyed("periodic:nightl@100"),
        keyed("periodic:nightlyA"),
        keyed(null),
        keyed("periodic:nightly@200"),
      ];
      await driver.jobInsert({ jobs });
      const ids = async (p: Parameters<typeof driver.jobListByKeyPrefix>[0]) => (await driver.jobListByKeyPrefix(p)).map((j) => j.id);
      const [a, , b, , , , c] = jobs.map((j) => j.id);
      expect(await ids({ prefix: "periodic:nightly@", limit: 10 })).toEqual([c!, b!, a!]);
      expect(await ids({ prefix: "periodic:nightly@", limit: 2 })).toEqual([c!, b!]);
      expect(await ids({ prefix: "periodic:nightly@", limit: 10, after: a! })).toEqual([c!, b!]);
      expect(await ids({ prefix: "periodic:nightly@", limit: 10, after: c! })).toEqual([]);
      expect(await ids({ prefix: "periodic:other@", limit: 10 })).toEqual([]);
      expect((await driver.jobListByKeyPrefix({ prefix: "periodic:nightly@", limit: 1 }))[0]).toEqual((await driver.jobGet({ id: c! }))!);
    });

    kit.test("jobList: the before cursor pages through without gaps or repeats", async () => {
      const { driver } = await kit.open();
      const jobs = Array.from({ length: 5 }, () => row());
      await driver.jobInsert({ jobs });
      const newestFirst = jobs.map((j) => j.id).reverse();
      const pages: string[][] = [];
      let before: string | undefined;
      for (;;) {
        const page = (await driver.jobList({ limit: 2, ...(before ? { before } : {}) })).map((j) => j.id);
        if (page.length === 0) break;
        pages.push(page);
        before = page.at(-1);
      }
      expect(pages).toEqual([newestFirst.slice(0, 2), newestFirst.slice(2, 4), newestFirst.slice(4)]);
    });

    kit.test("runList: every run of a job, oldest attempt first; none for an unknown job", async () => {
      const { driver } = await kit.open();
      const { job, claim } = await jobFixture(driver, { state: "running", now: T0, attempt: 3 });
      const runs = await driver.runList({ jobId: job.id });
      expect(runs.map((r) => [r.attempt, r.outcome])).toEqual([
        [1, "error"],
        [2, "error"],
        [3, "started"],
      ]);
      expect(runs[2]!.id).toBe(claim!.runId);
      expect(await driver.runList({ jobId: newId() })).toEqual([]);
    });

    kit.test("jobCountByKind: counts per kind and state, for every kind or one", async () => {
      const { driver } = await kit.open();
      for (const [kind, state] of [
        ["a", "available"],
        ["a", "available"],
        ["a", "succeeded"],
        ["b", "running"],
      ] as const) {
        await jobFixture(driver, { state, now: T0, kind });
      }
      const sorted = (counts: Array<{ kind: string; state: JobState; count: number }>) =>
        [...counts].sort((x, y) => x.kind.localeCompare(y.kind) || x.state.localeCompare(y.state));
      expect(sorted(await driver.jobCountByKind({}))).toEqual([
        { kind: "a", state: "available", count: 2 },
        { kind: "a", state: "succeeded", count: 1 },
        { kind: "b", state: "running", count: 1 },
      ]);
      expect(sorted(await driver.jobCountByKind({ kind: "b" }))).toEqual([{ kind: "b", state: "running", count: 1 }]);
      expect(await driver.jobCountByKind({ kind: "none" })).toEqual([]);
    });

    kit.test("queueStatsGet: counts by state, ready and scheduled-ahead jobs, the oldest ready time, per queue or all", async () => {
      const { driver } = await kit.open();
      const zero = { available: 0, scheduled: 0, running: 0, retryable: 0, waiting: 0, succeeded: 0, cancelled: 0, discarded: 0 };
      expect(await driver.queueStatsGet({ now: T0 })).toEqual({ counts: zero, ready: 0, scheduledAhead: 0, oldestReadyAt: null });

      const before = at(-60_000);
      await jobFixture(driver, { state: "available", now: before, scheduledAt: at(-30_000), queue: "q1" });
      await jobFixture(driver, { state: "available", now: before, scheduledAt: at(-10_000), queue: "q2" });
      await jobFixture(driver, { state: "scheduled", now: before, scheduledAt: at(60_000), queue: "q1" });
      await jobFixture(driver, { state: "retryable", now: before, scheduledAt: at(-20_000), queue: "q1" });
      await jobFixture(driver, { state: "retryable", now: before, scheduledAt: at(5_000), queue: "q2" });
      await jobFixture(driver, { state: "running", now: before, queue: "q1" });
      await jobFixture(driver, { state: "succeeded", now: before, queue: "q2" });
      await jobFixture(driver, { state: "cancelled", now: before, queue: "q1" });
      await jobFixture(driver, { state: "discarded", now: before, queue: "q1" });

      expect(await driver.queueStatsGet({ now: T0 })).toEqual({
        counts: { available: 2, scheduled: 1, running: 1, retryable: 2, waiting: 0, succeeded: 1, cancelled: 1, discarded: 1 },
        ready: 3,
        scheduledAhead: 2,
        oldestReadyAt: at(-30_000),
      });
      expect(await driver.queueStatsGet({ now: T0, queues: ["q2"] })).toEqual({
        counts: { ...zero, available: 1, retryable: 1, succeeded: 1 },
        ready: 1,
        scheduledAhead: 1,
        oldestReadyAt: at(-10_000),
      });
      expect(await driver.queueStatsGet({ now: T0, queues: ["none"] })).toEqual({ counts: zero, ready: 0, scheduledAhead: 0, oldestReadyAt: null });
    });

    kit.test("jobCensus: live jobs per kind, queue and state with ready, scheduled-ahead and oldest-ready figures; agrees with queueStatsGet", async () => {
      const { driver } = await kit.open();
      expect(await driver.jobCensus({ now: T0 })).toEqual([]);

      const before = at(-60_000);
      await jobFixture(driver, { state: "available", now: before, scheduledAt: at(-30_000), queue: "q1", kind: "a" });
      await jobFixture(driver, { state: "available", now: before, scheduledAt: at(-40_000), queue: "q1", kind: "b" });
      await jobFixture(driver, { state: "available", now: before, scheduledAt: at(-10_000), queue: "q2", kind: "a" });
      await jobFixture(driver, { state: "scheduled", now: before, scheduledAt: at(60_000), queue: "q1", kind: "a" });
      await jobFixture(driver, { state: "retryable", now: before, scheduledAt: at(-20_000), queue: "q1", kind: "a" });
      await jobFixture(driver, { state: "retryable", now: before, scheduledAt: at(5_000), queue: "q1", kind: "a" });
      await jobFixture(driver, { state: "running", now: before, queue: "q1", kind: "a" });
      await jobFixture(driver, { state: "succeeded", now: before, queue: "q2", kind: "a" });
      await jobFixture(driver, { state: "succeeded", now: before, queue: "q2", kind: "a" });
      await jobFixture(driver, { state: "discarded", now: before, queue: "q1", kind: "b" });

      const census = await driver.jobCensus({ now: T0 });
      const key = (r: { kind: string; queue: string; state: string }) => `${r.kind}/${r.queue}/${r.state}`;
      const row = (kind: string, queue: string, state: JobState, count: number, ready = 0, scheduledAhead = 0, oldestReadyAt: Date | null = null) =>
        ({ kind, queue, state, count, ready, scheduledAhead, oldestReadyAt });
      expect([...census].sort((x, y) => key(x).localeCompare(key(y)))).toEqual([
        row("a", "q1", "available", 1, 1, 0, at(-30_000)),
        row("a", "q1", "retryable", 2, 1, 1, at(-20_000)),
        row("a", "q1", "running", 1),
        row("a", "q1", "scheduled", 1, 0, 1),
        row("a", "q2", "available", 1, 1, 0, at(-10_000)),
        row("a", "q2", "succeeded", 2),
        row("b", "q1", "available", 1, 1, 0, at(-40_000)),
        row("b", "q1", "discarded", 1),
      ]);

      // The same figures queueStatsGet gives, summed over the census's groups.
      for (const queues of [undefined, ["q1"], ["q2"]]) {
        const stats = await driver.queueStatsGet({ now: T0, queues });
        const rows = census.filter((r) => !queues || queues.includes(r.queue));
        const counts = Object.fromEntries(Object.keys(stats.counts).map((s) => [s, rows.filter((r) => r.state === s).reduce((n, r) => n + r.count, 0)]));
        const oldest = rows.map((r) => r.oldestReadyAt).filter((d) => d !== null).sort((x, y) => x.getTime() - y.getTime())[0] ?? null;
        expect({ counts, ready: rows.reduce((n, r) => n + r.ready, 0), scheduledAhead: rows.reduce((n, r) => n + r.scheduledAhead, 0), oldestReadyAt: oldest }).toEqual(stats);
      }
    });

    kit.test("jobListFailures: discarded jobs finalized since a time, newest first, with their last attempt's error", async () => {
      const { driver } = await kit.open();
      await jobFixture(driver, { state: "discarded", now: at(1_000), kind: "old" });
      const twice = (await jobFixture(driver, { state: "running", now: at(2_000), kind: "twice", queue: "q" })).claim!;
      await driver.jobFinalize({ items: [retryItem(twice, at(2_000), 0, "first try")], now: at(2_000) });
      const second = await claimJob(driver, twice.id, at(3_000));
      await driver.jobFinalize({ items: [discardItem(second, at(4_000), "second try")], now: at(4_000) });
      const newest = (await jobFixture(driver, { state: "discarded", now: at(5_000), kind: "newest" })).job;
      await jobFixture(driver, { state: "cancelled", now: at(6_000), attempt: 1 });
      await jobFixture(driver, { state: "succeeded", now: at(6_000) });

      expect(await driver.jobListFailures({ since: at(2_000), limit: 10 })).toEqual([
        { jobId: newest.id, kind: "newest", queue: "default", attempt: 1, finalizedAt: at(5_000), errorClass: "permanent", errorMessage: "kit: permanent failure" },
        { jobId: twice.id, kind: "twice", queue: "q", attempt: 2, finalizedAt: at(4_000), errorClass: "permanent", errorMessage: "second try" },
      ]);
      expect((await driver.jobListFailures({ since: T0, limit: 1 })).map((f) => f.jobId)).toEqual([newest.id]);
      expect(await driver.jobListFailures({ since: at(7_000), limit: 10 })).toEqual([]);
    });
  });
}
