import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { connect, type Flywheel } from "../../src/index.ts";
import { FixedClock } from "../../src/core/clock.ts";
import { SharedSample, censusByKind, censusHealth, overviewSamples } from "../../src/http/overview-sample.ts";
import { eventually, tempDir } from "../support/helpers.ts";

// The overview's counts come from one census shared by every request: fresh for a while, then served stale while
// the next is taken, and kept when a census fails.
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function open(clock: FixedClock): Promise<Flywheel> {
  const dir = await tempDir();
  const fw = await connect(`sqlite:${join(dir.path, "jobs.db")}`, { clock });
  await fw.migrate();
  cleanups.push(() => dir.remove(), () => fw.close());
  return fw;
}

test("one sample serves every request until it is older than the minimum age; then the next request gets it at once and a fresh one follows", async () => {
  const clock = new FixedClock(new Date("2026-11-28T12:00:00Z"));
  const fw = await open(clock);
  await fw.insert("a", {});
  const sample = overviewSamples(fw, { minAgeMs: 2_000, costFactor: 0 }).census;
  const first = await sample.get();
  expect(censusHealth(first, clock.now()).counts.available).toBe(1);

  await fw.insert("a", {}, { queue: "other" });
  clock.advance(1_999);
  expect(await sample.get()).toBe(first);

  clock.advance(1);
  // Stale: served as it is, while the next census runs.
  expect(await sample.get()).toBe(first);
  const next = await eventually("the next sample", async () => {
    const s = await sample.get();
    return s === first ? null : s;
  });
  expect(next.sampledAt).toEqual(clock.now());
  expect(censusHealth(next, clock.now()).counts.available).toBe(2);
  expect(censusHealth(next, clock.now(), ["other"]).counts.available).toBe(1);
  expect(censusByKind(next)).toEqual([{ kind: "a", state: "available", count: 2 }]);
});

test("a census that fails keeps the last sample", async () => {
  const clock = new FixedClock(new Date("2026-11-28T12:00:00Z"));
  const fw = await open(clock);
  await fw.insert("a", {});
  const sample = overviewSamples(fw, { minAgeMs: 1_000, costFactor: 0 }).census;
  const first = await sample.get();
  await fw.close();
  clock.advance(5_000);
  expect(await sample.get()).toBe(first);
  await sample.settled();
  expect(await sample.get()).toBe(first);
});

test("counts by kind sum the queues, in byte order; health sums the groups of the queues asked for, lag as of now", async () => {
  const at = new Date("2026-11-28T12:00:00Z");
  const sample = {
    sampledAt: at,
    value: [
      { kind: "b", queue: "q1", state: "available" as const, count: 2, ready: 2, scheduledAhead: 0, oldestReadyAt: new Date(at.getTime() - 30_000) },
      { kind: "b", queue: "q2", state: "available" as const, count: 3, ready: 1, scheduledAhead: 2, oldestReadyAt: new Date(at.getTime() - 10_000) },
      { kind: "B", queue: "q1", state: "running" as const, count: 1, ready: 0, scheduledAhead: 0, oldestReadyAt: null },
    ],
  };
  expect(censusByKind(sample)).toEqual([
    { kind: "B", state: "running", count: 1 },
    { kind: "b", state: "available", count: 5 },
  ]);
  const later = new Date(at.getTime() + 5_000);
  expect(censusHealth(sample, later)).toMatchObject({ ready: 3, inflight: 1, scheduledAhead: 2, oldestReadyAgeSeconds: 35, sampledAt: at });
  expect(censusHealth(sample, later, ["q2"])).toMatchObject({ ready: 1, inflight: 0, scheduledAhead: 2, oldestReadyAgeSeconds: 15 });
  expect(censusHealth(sample, later, ["none"]).counts.available).toBe(0);
});

test("a sample that cost t is kept fresh for costFactor × t when that is longer than the minimum age", async () => {
  const clock = new FixedClock(new Date("2026-11-28T12:00:00Z"));
  let reads = 0;
  const slow = new SharedSample(
    async () => {
      reads++;
      await Bun.sleep(50);
      return reads;
    },
    { clock, logger: (await open(clock)).logger },
    { minAgeMs: 100, costFactor: 100 },
  );
  expect((await slow.get()).value).toBe(1);
  // Cost ≥ 50 ms × 100: still fresh 4.9 s later, where the minimum age alone would have expired.
  clock.advance(4_900);
  expect((await slow.get()).value).toBe(1);
  await slow.settled();
  expect(reads).toBe(1);
  clock.advance(60_000);
  await slow.get();
  await eventually("the next read", async () => (await slow.get()).value === 2);
});
