/**
 * The messaging and flow-control contract of SPEC §18 (queue pause, the node registry, and what follows), written
 * once and run against every driver (`sqlite.test.ts`, `postgres.pg.test.ts`) through the public API. Time is a
 * FixedClock: heartbeats and staleness pass by advancing it.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { FixedClock } from "../../src/core/clock.ts";
import { ValidationError } from "../../src/core/errors.ts";
import { defineWorker, type Flywheel } from "../../src/index.ts";
import { deferred } from "../support/helpers.ts";
import { expectFields } from "../support/match.ts";
import type { ConformanceHandle, OpenConformance } from "./conformance.ts";

const T0 = new Date("2026-03-08T06:00:00Z");

/** Registers the messaging suite under `name`. */
export function runMessagingConformance(name: string, open: OpenConformance): void {
  describe(`messaging: ${name}`, () => {
    let handle: ConformanceHandle | null = null;
    let clock: FixedClock;

    async function setup(): Promise<Flywheel> {
      clock = new FixedClock(T0);
      handle = await open({ clock });
      handle.fw.register(defineWorker({ kind: "noop", work: () => undefined }));
      return handle.fw;
    }

    afterEach(async () => {
      await handle?.cleanup();
      handle = null;
    });

    describe("queue pause", () => {
      test("no runner claims a paused queue's jobs; other queues run; resuming releases them", async () => {
        const fw = await setup();
        const held = await fw.insert("noop", {}, { queue: "mail" });
        const free = await fw.insert("noop", {}, { queue: "default" });
        expect(await fw.pauseQueue("mail")).toBe(true);
        expect(await fw.pauseQueue("mail")).toBe(false);
        expect(await fw.runUntilIdle({ queues: ["mail", "default"] })).toBe(1);
        expectFields(await fw.findJob(held), { state: "available", attempt: 0 });
        expectFields(await fw.findJob(free), { state: "succeeded" });
        expect(await fw.resumeQueue("mail")).toBe(true);
        expect(await fw.resumeQueue("mail")).toBe(false);
        expect(await fw.runUntilIdle({ queues: ["mail"] })).toBe(1);
        expectFields(await fw.findJob(held), { state: "succeeded" });
      });

      test("an attempt running when its queue is paused finishes and records its outcome", async () => {
        const fw = await setup();
        const gate = deferred();
        const started = deferred();
        fw.register(defineWorker({ kind: "held", work: async () => (started.resolve(), await gate.promise, { output: "done" }) }));
        const id = await fw.insert("held", {});
        const working = fw.runUntilIdle();
        await started.promise;
        await fw.pauseQueue("default");
        gate.resolve();
        expect(await working).toBe(1);
        expect((await fw.listRuns(id)).map((r) => [r.outcome, r.output])).toEqual([["success", "done"]]);
      });

      test("a resume wakes an idle node at once", async () => {
        const fw = await setup();
        const ran = deferred<string>();
        fw.register(defineWorker({ kind: "ping", work: (job) => ran.resolve(job.id) }));
        await fw.pauseQueue("default");
        const id = await fw.insert("ping", {});
        const stop = new AbortController();
        const idle = fw.events.once("runner:idle");
        const running = fw.node({ runners: [{ queues: ["default"], pollInterval: "1h" }], scheduler: false }).run(stop.signal);
        await idle;
        await fw.resumeQueue("default");
        expect(await ran.promise).toBe(id);
        stop.abort();
        await running;
      });

      test("listQueues: pause state with who paused it, counts by state, and lag", async () => {
        const fw = await setup();
        await fw.insert("noop", {}, { queue: "mail" });
        await fw.insert("noop", {}, { queue: "mail", delay: "1m" });
        clock.advance("30s");
        await fw.pauseQueue("reports", { by: "ann" });
        const queues = await fw.listQueues();
        expect(queues.map((q) => q.name)).toEqual(["mail", "reports"]);
        expectFields(queues[0], { paused: false, pausedBy: null, oldestReadyAgeSeconds: 30 });
        expect(queues[0]!.counts.available + queues[0]!.counts.scheduled).toBe(2);
        expectFields(queues[1], { paused: true, pausedBy: "ann", pausedAt: clock.now(), oldestReadyAgeSeconds: 0 });
      });

      test("a queue name that is empty or holds NUL is refused with a validation error, and nothing is stored", async () => {
        const fw = await setup();
        expect(await fw.pauseQueue("").catch((e) => e)).toBeInstanceOf(ValidationError);
        expect(await fw.pauseQueue("a\u0000b").catch((e) => e)).toBeInstanceOf(ValidationError);
        expect(await fw.listQueues()).toEqual([]);
      });
    });

    describe("node registry", () => {
      test("a running node is listed with its queues and kinds, heartbeats on the clock, and leaves the registry when it stops", async () => {
        const fw = await setup();
        const stop = new AbortController();
        const started = fw.events.once("node:started");
        const running = fw.node({ runners: [{ queues: ["mail", "default"] }], scheduler: false }).run(stop.signal);
        await started;
        const [node, ...others] = await fw.listNodes();
        expect(others).toEqual([]);
        expectFields(node, { pid: process.pid, queues: ["default", "mail"], kinds: ["noop"], startedAt: T0, heartbeatAt: T0, heartbeatMs: 10_000 });
        // Five missed heartbeats would make it stale; a live node keeps beating as the clock moves.
        for (let i = 0; i < 6; i++) {
          clock.advance("10s");
          await eventuallyFresh(fw, clock.now());
        }
        stop.abort();
        await running;
        expect(await fw.listNodes()).toEqual([]);
      });

      test("a node that stopped heartbeating drops out once five of its heartbeats pass", async () => {
        const fw = await setup();
        await fw.driver.nodeHeartbeat({ node: { id: "gone", executorId: "x", host: "h", pid: 1, version: "0", queues: ["default"], kinds: [], heartbeatMs: 10_000, startedAt: T0 }, now: T0 });
        clock.advance("50s");
        expect((await fw.listNodes()).map((n) => n.id)).toEqual(["gone"]);
        clock.advance("1ms");
        expect(await fw.listNodes()).toEqual([]);
      });
    });
  });
}

/** Waits until the node's last heartbeat is `at` (its timer fired on the advanced clock and the write landed). */
async function eventuallyFresh(fw: Flywheel, at: Date): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const [node] = await fw.listNodes();
    if (node && node.heartbeatAt.getTime() === at.getTime()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`the node's heartbeat did not reach ${at.toISOString()}`);
}
