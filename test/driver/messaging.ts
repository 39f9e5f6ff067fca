/**
 * The messaging and flow-control contract of SPEC §18 (queue pause, the node registry, and what follows), written
 * once and run against every driver (`sqlite.test.ts`, `postgres.pg.test.ts`) through the public API. Time is a
 * FixedClock: heartbeats and staleness pass by advancing it.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { FixedClock } from "../../src/core/clock.ts";
import { ValidationError } from "../../src/core/errors.ts";
import { defineWorker, type Flywheel } from "../../src/index.ts";
import { deferred, eventually } from "../support/helpers.ts";
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

    describe("limits", () => {
      test("setLimit stores a kind's or a queue's limit, listLimits shows it with its rate as written, clearLimit removes it", async () => {
        const fw = await setup();
        const saved = await fw.setLimit({ kind: "noop" }, { concurrency: 3, rate: "100/60s" });
        expectFields(saved, { scope: "kind", name: "noop", concurrency: 3, rate: "100/1m", createdAt: T0, updatedAt: T0 });
        await fw.setLimit({ queue: "mail" }, { rate: "5/1h30m" });
        clock.advance("1s");
        await fw.setLimit({ kind: "noop" }, { concurrency: 1 });
        expect((await fw.listLimits()).map((l) => [l.scope, l.name, l.concurrency, l.rate])).toEqual([
          ["kind", "noop", 1, null],
          ["queue", "mail", null, "5/1h30m"],
        ]);
        expect(await fw.clearLimit({ queue: "mail" })).toBe(true);
        expect(await fw.clearLimit({ queue: "mail" })).toBe(false);
        expect((await fw.listLimits()).map((l) => l.name)).toEqual(["noop"]);
      });

      test("bad limits are refused with one line naming the field, and nothing is stored", async () => {
        const fw = await setup();
        const cases: Array<[unknown, unknown, string]> = [
          [{ kind: "k" }, { rate: "100/0s" }, "rate"],
          [{ kind: "k" }, { rate: "-1/1m" }, "rate"],
          [{ kind: "k" }, { rate: "0/1m" }, "rate"],
          [{ kind: "k" }, { rate: "100/60" }, "rate"],
          [{ kind: "k" }, { rate: "100 per minute" }, "rate"],
          [{ kind: "k" }, { concurrency: 0 }, "concurrency"],
          [{ kind: "k" }, { concurrency: 1.5 }, "concurrency"],
          [{ kind: "k" }, { concurrency: "2" }, "concurrency"],
          [{ kind: "k" }, {}, "concurrency"],
          [{ kind: "k", queue: "q" }, { concurrency: 1 }, "queue"],
          [{}, { concurrency: 1 }, "kind"],
          [{ kind: "" }, { concurrency: 1 }, "kind"],
        ];
        for (const [target, settings, field] of cases) {
          const error = await fw.setLimit(target as never, settings as never).catch((e) => e);
          expect(error).toBeInstanceOf(ValidationError);
          expect(error.path).toBe(field);
          expect(error.message).not.toContain("\n");
          expect(error.message).toContain(field === "kind" || field === "queue" ? "kind" : field);
        }
        expect(await fw.clearLimit({ kind: "k", queue: "q" } as never).catch((e) => e)).toBeInstanceOf(ValidationError);
        expect(await fw.listLimits()).toEqual([]);
      });

      test("a runner with free slots runs no more of a limited kind at once than its concurrency", async () => {
        const fw = await setup();
        let active = 0;
        let peak = 0;
        fw.register(
          defineWorker({
            kind: "capped",
            work: async () => {
              peak = Math.max(peak, ++active);
              await new Promise((resolve) => setTimeout(resolve, 5));
              active--;
            },
          }),
        );
        await fw.setLimit({ kind: "capped" }, { concurrency: 2 });
        await fw.insertMany(Array.from({ length: 8 }, (_, n) => ({ kind: "capped", args: { n } })));
        expect(await fw.runUntilIdle({ concurrency: 6 })).toBe(8);
        expect(peak).toBe(2);
      });

      test("a rate limit lets that many attempts start per window on the clock; the next window lets the rest", async () => {
        const fw = await setup();
        await fw.setLimit({ queue: "mail" }, { rate: "2/1m" });
        const ids = await fw.insertMany(Array.from({ length: 3 }, (_, n) => ({ kind: "noop", args: { n }, options: { queue: "mail" } })));
        expect(ids.skipped).toEqual([]);
        expect(await fw.runUntilIdle({ concurrency: 4 })).toBe(2);
        clock.advance("59s");
        expect(await fw.runUntilIdle()).toBe(0);
        clock.advance("1s");
        expect(await fw.runUntilIdle()).toBe(1);
      });

      test("clearing a limit wakes an idle node at once", async () => {
        const fw = await setup();
        const ran = deferred<string>();
        fw.register(defineWorker({ kind: "ping", work: (job) => ran.resolve(job.id) }));
        await fw.setLimit({ kind: "ping" }, { rate: "1/1h" });
        const first = await fw.insert("ping", {});
        expect(await fw.runUntilIdle()).toBe(1);
        expect(await ran.promise).toBe(first);
        const second = await fw.insert("ping", {});
        expect(await fw.runUntilIdle()).toBe(0);
        const next = deferred<string>();
        fw.register(defineWorker({ kind: "ping", work: (job) => next.resolve(job.id) }));
        const stop = new AbortController();
        const idle = fw.events.once("runner:idle");
        const running = fw.node({ runners: [{ queues: ["default"], pollInterval: "1h" }], scheduler: false }).run(stop.signal);
        await idle;
        await fw.clearLimit({ kind: "ping" });
        expect(await next.promise).toBe(second);
        stop.abort();
        await running;
      });
    });

    describe("circuit breakers", () => {
      test("defineWorker refuses a bad breaker with one line naming the option", () => {
        const cases: Array<[unknown, string]> = [
          [{ failures: 0, openFor: "30s" }, "breaker.failures"],
          [{ failures: 1.5, openFor: "30s" }, "breaker.failures"],
          [{ failures: 5, openFor: "0s" }, "breaker.openFor"],
          [{ failures: 5, openFor: "soon" }, "breaker.openFor"],
          [{ failures: 5 }, "breaker.openFor"],
          [null, "breaker"],
        ];
        for (const [breaker, path] of cases) {
          let error: any;
          try {
            defineWorker({ kind: "k", work: () => undefined, breaker: breaker as never });
          } catch (e) {
            error = e;
          }
          expect(error).toBeInstanceOf(ValidationError);
          expect(error.path).toBe(path);
          expect(error.message).toContain(path);
        }
      });

      test("after that many failed attempts the kind is not claimed (no attempt burned) until openFor passes; one probe then runs alone and its success closes it", async () => {
        const fw = await setup();
        let failing = true;
        let holdNext = false;
        const probeStarted = deferred<string>();
        const release = deferred();
        fw.register(
          defineWorker({
            kind: "flaky",
            breaker: { failures: 3, openFor: "30s" },
            maxAttempts: 1,
            work: async (job) => {
              if (failing) throw new Error("upstream down");
              if (holdNext) {
                holdNext = false;
                probeStarted.resolve(job.id);
                await release.promise;
              }
            },
          }),
        );
        const opened = fw.events.once("breaker:opened");
        await fw.insertMany(Array.from({ length: 8 }, (_, n) => ({ kind: "flaky", args: { n }, options: { priority: n } })));
        const other = await fw.insert("noop", {});
        expect(await fw.runUntilIdle({ concurrency: 1 })).toBe(4);
        expect(await opened).toEqual({ kind: "flaky", failures: 3, openUntil: new Date(T0.getTime() + 30_000) });
        expectFields(await fw.findJob(other), { state: "succeeded" });
        expect((await fw.listJobs({ kind: "flaky", state: "available" })).length).toBe(5);
        expectFields((await fw.listBreakers())[0], { kind: "flaky", state: "open", failures: 3, openedAt: T0, openUntil: new Date(T0.getTime() + 30_000) });

        clock.advance("29999ms");
        expect(await fw.runUntilIdle({ concurrency: 4 })).toBe(0);
        clock.advance("1ms");
        expectFields((await fw.listBreakers())[0], { state: "half_open", probeJobId: null });
        failing = false;
        holdNext = true;
        const closed = fw.events.once("breaker:closed");
        const running = fw.runUntilIdle({ concurrency: 4 });
        const probe = await probeStarted.promise;
        // While the probe runs, the kind's other jobs are not claimable, not even by id.
        expectFields((await fw.listBreakers())[0], { state: "half_open", probeJobId: probe });
        const waiting = await fw.listJobs({ kind: "flaky", state: "available" });
        expect(waiting.length).toBe(4);
        expect(await fw.workJob(waiting[0]!.id)).toBe(false);
        release.resolve();
        expect(await running).toBe(5);
        expect(await closed).toEqual({ kind: "flaky" });
        expect((await fw.listRuns(probe)).map((r) => r.outcome)).toEqual(["success"]);
        expectFields((await fw.listBreakers())[0], { state: "closed", failures: 0, openUntil: null, probeJobId: null });
      });

      test("a failed probe opens the breaker again for openFor from its failure", async () => {
        const fw = await setup();
        fw.register(defineWorker({ kind: "down", breaker: { failures: 1, openFor: "1m" }, maxAttempts: 1, work: () => Promise.reject(new Error("still down")) }));
        await fw.insertMany(Array.from({ length: 3 }, (_, n) => ({ kind: "down", args: { n } })));
        expect(await fw.runUntilIdle()).toBe(1);
        clock.advance("1m");
        const reopened = fw.events.once("breaker:opened");
        expect(await fw.runUntilIdle({ concurrency: 3 })).toBe(1);
        expect(await reopened).toEqual({ kind: "down", failures: 2, openUntil: new Date(T0.getTime() + 120_000) });
        expectFields((await fw.listBreakers())[0], { state: "open", failures: 2 });
      });
    });

    describe("topics", () => {
      test("a publish enqueues one job per matching binding by AMQP rules, with { topic, payload } or the binding's args", async () => {
        const fw = await setup();
        await fw.bind("orders.#", { kind: "noop", queue: "audit" });
        await fw.bind("orders.*.paid", { kind: "noop" });
        await fw.bind("orders.eu.paid", { kind: "noop", args: { fixed: true } });
        await fw.bind("users.*", { kind: "noop" });
        await fw.bind("#", { kind: "noop", queue: "firehose" });
        const ids = await fw.publish("orders.eu.paid", { orderId: 7 });
        const jobs = await Promise.all(ids.map((id) => fw.findJob(id)));
        expect(jobs.map((j) => [j.metadata.binding, j.queue, j.args]).sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1))).toEqual([
          ["#", "firehose", { topic: "orders.eu.paid", payload: { orderId: 7 } }],
          ["orders.#", "audit", { topic: "orders.eu.paid", payload: { orderId: 7 } }],
          ["orders.*.paid", "default", { topic: "orders.eu.paid", payload: { orderId: 7 } }],
          ["orders.eu.paid", "default", { fixed: true }],
        ]);
        // `#` matches zero tokens: `orders.#` takes `orders` itself; `*` needs exactly one.
        expect((await Promise.all((await fw.publish("orders")).map((id) => fw.findJob(id)))).map((j) => j.metadata.binding).sort()).toEqual(["#", "orders.#"]);
        expect((await Promise.all((await fw.publish("users")).map((id) => fw.findJob(id)))).map((j) => j.metadata.binding)).toEqual(["#"]);
        await fw.unbind("#", "noop");
        expect(await fw.publish("nobody.listens")).toEqual([]);
      });

      test("a uniqueKey makes a publish idempotent per binding: a second publish returns the same jobs", async () => {
        const fw = await setup();
        await fw.bind("a.*", { kind: "noop" });
        await fw.bind("a.b", { kind: "noop" });
        const first = await fw.publish("a.b", 1, { uniqueKey: "evt-1" });
        expect(first).toHaveLength(2);
        expect((await fw.publish("a.b", 1, { uniqueKey: "evt-1" })).sort()).toEqual([...first].sort());
        expect(await fw.publish("a.b", 1, { uniqueKey: "evt-2" })).not.toEqual(first);
        expect((await fw.listJobs({ kind: "noop" })).length).toBe(4);
      });

      test("publish inside the caller's transaction: rolled back, no job; committed, the jobs", async () => {
        const fw = await setup();
        await fw.bind("t.#", { kind: "noop" });
        await handle!.transaction(async (tx) => (await fw.publish("t.x", null, { tx }))[0]!, "rollback").catch(() => undefined);
        expect(await fw.listJobs({ kind: "noop" })).toEqual([]);
        const id = await handle!.transaction(async (tx) => (await fw.publish("t.x", null, { tx }))[0]!, "commit");
        expect((await fw.listJobs({ kind: "noop" })).map((j) => j.id)).toEqual([id]);
      });

      test("bad topics and patterns are refused with a validation error naming them, and nothing is stored", async () => {
        const fw = await setup();
        for (const topic of ["", "a..b", ".a", "a.", "a.*", "a b", "a.#"]) {
          expect(await fw.publish(topic).catch((e) => e)).toBeInstanceOf(ValidationError);
        }
        for (const pattern of ["", "a..b", "a.b c", "a.**"]) {
          const error = await fw.bind(pattern, { kind: "noop" }).catch((e) => e);
          expect(error).toBeInstanceOf(ValidationError);
          expect(error.message).toContain(JSON.stringify(pattern));
        }
        expect(await fw.listBindings()).toEqual([]);
      });

      test("listBindings shows each binding; binding again replaces its queue and args", async () => {
        const fw = await setup();
        await fw.bind("x.*", { kind: "noop", queue: "one" });
        await fw.bind("x.*", { kind: "noop", queue: "two", args: { k: 1 } });
        const bindings = await fw.listBindings();
        expect(bindings.map((b) => [b.pattern, b.kind, b.queue, b.args])).toEqual([["x.*", "noop", "two", { k: 1 }]]);
        expect(await fw.unbind("x.*", "noop")).toBe(true);
        expect(await fw.unbind("x.*", "noop")).toBe(false);
      });
    });

    describe("job history", () => {
      test("a job's history: its enqueue by its actor, then cancel, retry and events with theirs, oldest first", async () => {
        const fw = await setup();
        const id = await fw.insert("noop", {}, { actor: "cli", requestId: "req-1" });
        clock.advance("1s");
        await fw.cancelJob(id, { actor: "ann" });
        clock.advance("1s");
        await fw.retryJob(id);
        const history = await fw.listHistory(id);
        expect(history.map((h) => [h.action, h.actor, h.at.getTime() - T0.getTime(), h.detail])).toEqual([
          ["enqueued", "cli", 0, { request_id: "req-1" }],
          ["cancelled", "ann", 1_000, null],
          ["retried", "app", 2_000, null],
        ]);
      });

      test("jobs from a publish and a periodic say so in their enqueue entry", async () => {
        const fw = await setup();
        await fw.bind("t", { kind: "noop" });
        const [published] = await fw.publish("t");
        expect((await fw.listHistory(published!))[0]).toMatchObject({ action: "enqueued", actor: "publish", detail: { topic: "t", binding: "t" } });
        await fw.upsertPeriodic({ slug: "tick", kind: "noop", every: "1m" });
        const triggered = await fw.triggerPeriodic("tick", { actor: "cli" });
        expect((await fw.listHistory(triggered))[0]).toMatchObject({ action: "enqueued", actor: "cli", detail: { periodic: "tick" } });
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
function eventuallyFresh(fw: Flywheel, at: Date): Promise<unknown> {
  return eventually(`the node's heartbeat at ${at.toISOString()}`, async () => (await fw.listNodes())[0]?.heartbeatAt.getTime() === at.getTime());
}
