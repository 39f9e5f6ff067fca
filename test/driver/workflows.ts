/**
 * The durable-workflow contract of SPEC §17, written once and run against every driver (`sqlite.test.ts`,
 * `postgres.pg.test.ts`), through the public API. Time is a FixedClock: sleeps and deadlines pass by advancing it.
 */
import { afterEach, describe, expect, test } from "bun:test";
import * as v from "valibot";
import { FixedClock } from "../../src/core/clock.ts";
import { ChildFailedError, FlywheelError, JobFailedError, JobNotFoundError, ValidationError } from "../../src/core/errors.ts";
import { defineFlow, defineWorker, defineWorkflow, type Flywheel } from "../../src/index.ts";
import { deferred } from "../support/helpers.ts";
import { expectFields } from "../support/match.ts";
import type { ConformanceHandle, OpenConformance } from "./conformance.ts";

const T0 = new Date("2026-03-08T06:00:00Z");

/** Registers the workflow suite under `name`. */
export function runWorkflowConformance(name: string, open: OpenConformance): void {
  describe(`workflows: ${name}`, () => {
    let handle: ConformanceHandle | null = null;
    let clock: FixedClock;

    async function setup(): Promise<Flywheel> {
      clock = new FixedClock(T0);
      handle = await open({ clock });
      return handle.fw;
    }

    afterEach(async () => {
      await handle?.cleanup();
      handle = null;
    });

    describe("steps", () => {
      test("a completed step is not run again when the workflow replays after a failed attempt", async () => {
        const fw = await setup();
        const calls = { a: 0, b: 0 };
        let failOnce = true;
        fw.register(
          defineWorkflow({
            kind: "two-steps",
            async run(ctx) {
              const a = await ctx.step("a", () => ({ n: ++calls.a, at: new Date(0) }));
              if (failOnce) {
                failOnce = false;
                throw new Error("flaky after a");
              }
              const b = await ctx.step("b", () => ++calls.b);
              return { output: { a, b } };
            },
          }),
        );
        const id = await fw.insert("two-steps", {});
        await fw.runUntilIdle({ backoff: { base: 1, cap: 1 } });
        clock.advance("1s");
        await fw.runUntilIdle();
        expect(calls).toEqual({ a: 1, b: 1 });
        // The first run got what a replay gets: the stored JSON (the Date became a string both times).
        expect(await fw.result(id)).toEqual({ a: { n: 1, at: "1970-01-01T00:00:00.000Z" }, b: 1 });
        const steps = await fw.listSteps(id);
        expect(steps.map((s) => [s.key, s.status, s.attempts])).toEqual([
          ["a", "completed", 1],
          ["b", "completed", 1],
        ]);
        expect((await fw.listRuns(id)).map((r) => r.outcome)).toEqual(["error", "success"]);
      });

      test("a failing step retries in process first; a step that keeps failing fails the attempt and runs again next time", async () => {
        const fw = await setup();
        let tries = 0;
        let stubborn = 0;
        fw.register(
          defineWorkflow({
            kind: "retrying",
            async run(ctx) {
              const a = await ctx.step("flaky", () => {
                if (++tries < 3) throw new Error(`try ${tries}`);
                return tries;
              }, { maxAttempts: 3 });
              const b = await ctx.step("stubborn", () => {
                if (++stubborn < 2) throw new Error("not yet");
                return "done";
              });
              return { output: { a, b } };
            },
          }),
        );
        const id = await fw.insert("retrying", {}, { maxAttempts: 3 });
        await fw.runUntilIdle();
        expect((await fw.findJob(id)).state).toBe("retryable");
        expect((await fw.listSteps(id)).map((s) => [s.key, s.status, s.attempts, s.error])).toEqual([
          ["flaky", "completed", 3, null],
          ["stubborn", "failed", 1, "not yet"],
        ]);
        clock.advance("2s");
        await fw.runUntilIdle();
        expect(await fw.result(id)).toEqual({ a: 3, b: "done" });
        expect(tries).toBe(3);
        expect((await fw.listSteps(id)).find((s) => s.key === "stubborn")).toMatchObject({ status: "completed", attempts: 2 });
      });

      test("a step key used twice, or an output that is not JSON or too large, fails the attempt with validation naming the key", async () => {
        const fw = await setup();
        fw.register(defineWorkflow({ kind: "twice", run: async (ctx) => void (await ctx.step("k", () => 1), await ctx.step("k", () => 2)) }));
        fw.register(defineWorkflow({ kind: "bigint", run: async (ctx) => void (await ctx.step("big", () => 1n)) }));
        fw.register(defineWorkflow({ kind: "huge", run: async (ctx) => void (await ctx.step("huge", () => "x".repeat(1_048_577))) }));
        const ids = await Promise.all(["twice", "bigint", "huge"].map((k) => fw.insert(k, {})));
        await fw.runUntilIdle();
        const runs = await Promise.all(ids.map(async (id) => (await fw.listRuns(id))[0]!));
        expect(runs.map((r) => [r.outcome, r.errorClass])).toEqual([
          ["error", "validation"],
          ["error", "validation"],
          ["error", "validation"],
        ]);
        expect(runs[0]!.errorMessage).toContain('step key "k" used twice');
        expect(runs[1]!.errorMessage).toContain('step "big" returned an output that is not JSON');
        expect(runs[2]!.errorMessage).toContain('step "huge" output is 1048579 bytes');
        for (const id of ids) expect((await fw.findJob(id)).state).toBe("discarded");
        // Nothing half-written: the refused steps were never stored.
        expect((await fw.listSteps(ids[1]!)).map((s) => s.key)).toEqual([]);
      });

      test("uuid, random and now are the same on every replay", async () => {
        const fw = await setup();
        const seen: unknown[] = [];
        fw.register(
          defineWorkflow({
            kind: "memo",
            async run(ctx) {
              const values = [await ctx.uuid("id"), await ctx.random("coin"), (await ctx.now("t0")).toISOString()];
              seen.push(values);
              await ctx.sleep("nap", "1m");
              return { output: values };
            },
          }),
        );
        const id = await fw.insert("memo", {});
        await fw.runUntilIdle();
        clock.advance("1m");
        await fw.runUntilIdle();
        expect(seen).toHaveLength(2);
        expect(seen[1]).toEqual(seen[0]);
        expect((seen[0] as unknown[])[2]).toBe(T0.toISOString());
        expect(await fw.result(id)).toEqual(seen[0]);
      });
    });

    describe("waiting", () => {
      test("a sleep parks the run as waiting (holding no slot, spending no attempt) until its time", async () => {
        const fw = await setup();
        const order: string[] = [];
        fw.register(
          defineWorkflow({
            kind: "napper",
            async run(ctx) {
              await ctx.step("before", () => order.push("before"));
              await ctx.sleep("nap", "1h");
              await ctx.step("after", () => order.push("after"));
              return { output: "rested" };
            },
          }),
        );
        fw.register(defineWorker({ kind: "plain", work: () => void order.push("plain") }));
        const id = await fw.insert("napper", {}, { maxAttempts: 1 });
        await fw.runUntilIdle({ concurrency: 1 });
        const waiting = await fw.findJob(id);
        expectFields(waiting, { state: "waiting", waitReason: "sleep", wakeAt: new Date(T0.getTime() + 3_600_000), maxAttempts: 2 });
        expect((await fw.listRuns(id)).map((r) => r.outcome)).toEqual(["suspended"]);
        expect((await fw.queueHealth()).counts.waiting).toBe(1);
        // With one slot, another job still runs while the workflow sleeps.
        await fw.insert("plain", {});
        await fw.runUntilIdle({ concurrency: 1 });
        expect(order).toEqual(["before", "plain"]);
        clock.advance("59m");
        expect(await fw.runUntilIdle()).toBe(0);
        clock.advance("1m");
        await fw.runUntilIdle();
        expect(await fw.result(id)).toBe("rested");
        expect(order).toEqual(["before", "plain", "after"]);
        expect((await fw.listRuns(id)).map((r) => r.outcome)).toEqual(["suspended", "success"]);
        expect((await fw.listSteps(id)).find((s) => s.key === "nap")).toMatchObject({ status: "completed" });
      });

      test("an event emitted before the wait is consumed at once; one emitted after wakes the run; a timeout gives null", async () => {
        const fw = await setup();
        fw.register(
          defineWorkflow({
            kind: "approver",
            async run(ctx) {
              const approval = await ctx.waitForEvent<{ by: string }>("approval", { timeout: "1d" });
              return { output: approval };
            },
          }),
        );
        const early = await fw.insert("approver", {});
        await fw.emit(early, "approval", { by: "ann" });
        const late = await fw.insert("approver", {});
        const never = await fw.insert("approver", {});
        await fw.runUntilIdle();
        expect(await fw.result(early)).toEqual({ by: "ann" });
        expectFields(await fw.findJob(late), { state: "waiting", waitReason: "event", wakeAt: new Date(T0.getTime() + 86_400_000) });
        await fw.emit(late, "approval", { by: "bob" });
        expect((await fw.findJob(late)).state).toBe("available");
        await fw.runUntilIdle();
        expect(await fw.result(late)).toEqual({ by: "bob" });
        clock.advance("1d");
        await fw.runUntilIdle();
        expect(await fw.result(never)).toBeNull();
      });

      test("an event emitted while the run is mid-attempt, before it reaches the wait, is not lost", async () => {
        const fw = await setup();
        const inStep = deferred();
        const release = deferred();
        fw.register(
          defineWorkflow({
            kind: "racer",
            async run(ctx) {
              await ctx.step("slow", async () => {
                inStep.resolve();
                await release.promise;
              });
              return { output: await ctx.waitForEvent("go") };
            },
          }),
        );
        const id = await fw.insert("racer", {});
        const running = fw.runUntilIdle();
        await inStep.promise;
        // The events were read when the attempt began; this one lands after, while it runs.
        await fw.emit(id, "go", { now: true });
        release.resolve();
        await running;
        // The attempt suspended on "go" without having seen it; the emit moved wake_seq, so the job did not wait:
        // it is available again (or already run again, when the claim that committed the suspension took it).
        expect((await fw.listRuns(id))[0]!.outcome).toBe("suspended");
        expect((await fw.findJob(id)).state).not.toBe("waiting");
        await fw.runUntilIdle();
        expect(await fw.result(id)).toEqual({ now: true });
      });

      test("waitForAny returns the first event to have arrived, by emit time", async () => {
        const fw = await setup();
        fw.register(defineWorkflow({ kind: "any", run: async (ctx) => ({ output: await ctx.waitForAny(["approved", "rejected"]) }) }));
        const id = await fw.insert("any", {});
        await fw.runUntilIdle();
        await fw.emit(id, "rejected", { why: "no" });
        clock.advance("1s");
        await fw.emit(id, "approved", {});
        await fw.runUntilIdle();
        expect(await fw.result(id)).toEqual({ name: "rejected", payload: { why: "no" } });
      });

      test("emitting to an unknown or finished run is refused; a payload JSON cannot hold is refused; nothing is stored", async () => {
        const fw = await setup();
        fw.register(defineWorkflow({ kind: "done", run: () => ({ output: 1 }) }));
        await expect(fw.emit("00000000-0000-7000-8000-000000000000", "x")).rejects.toBeInstanceOf(JobNotFoundError);
        const id = await fw.insert("done", {});
        await fw.runUntilIdle();
        await expect(fw.emit(id, "x", {})).rejects.toMatchObject({ code: "invalid_state" });
        const waiting = await fw.insert("done", {}, { delay: "1h" });
        await expect(fw.emit(waiting, "x", { n: 1n })).rejects.toBeInstanceOf(ValidationError);
        await expect(fw.emit(waiting, "", {})).rejects.toBeInstanceOf(ValidationError);
      });

      test("outbox: an event emitted on the caller's transaction exists only if it commits", async () => {
        const fw = await setup();
        fw.register(defineWorkflow({ kind: "waiter", run: async (ctx) => ({ output: await ctx.waitForEvent("e") }) }));
        const id = await fw.insert("waiter", {});
        await fw.runUntilIdle();
        await handle!.transaction((tx) => fw.emit(id, "e", { rolled: "back" }, { tx }).then(() => id), "rollback");
        expect((await fw.findJob(id)).state).toBe("waiting");
        await handle!.transaction((tx) => fw.emit(id, "e", { kept: true }, { tx }).then(() => id), "commit");
        await fw.runUntilIdle();
        expect(await fw.result(id)).toEqual({ kept: true });
      });
    });

    describe("children", () => {
      const charge = defineWorker({
        kind: "charge",
        args: v.object({ amount: v.number() }),
        work: (job) => {
          if (job.args.amount < 0) throw new Error("negative amount");
          return { output: { charged: job.args.amount } };
        },
      });

      test("spawn enqueues a child once; join returns its output, or throws ChildFailedError when it failed", async () => {
        const fw = await setup();
        fw.register(charge);
        fw.register(
          defineWorkflow({
            kind: "order",
            async run(ctx, args: { amount: number }) {
              const child = await ctx.spawn("charge", charge, { amount: args.amount }, { maxAttempts: 1 });
              try {
                return { output: { paid: await ctx.join(child) } };
              } catch (error) {
                if (error instanceof ChildFailedError) return { output: { failed: error.errorMessage } };
                throw error;
              }
            },
          }),
        );
        const ok = await fw.insert("order", { amount: 5 });
        const bad = await fw.insert("order", { amount: -1 });
        await fw.runUntilIdle();
        await fw.runUntilIdle();
        expect(await fw.result(ok)).toEqual({ paid: { charged: 5 } });
        expect(await fw.result(bad)).toEqual({ failed: "negative amount" });
        const children = await fw.listJobs({ kind: "charge" });
        expect(children).toHaveLength(2);
        for (const child of children) expect([ok, bad]).toContain(child.parentJobId!);
        expect(children.map((c) => c.rootJobId).sort()).toEqual([ok, bad].sort());
      });

      test("a run waiting for its child wakes when the child ends, not before", async () => {
        const fw = await setup();
        const gate = deferred();
        fw.register(defineWorker({ kind: "slow", work: async () => (await gate.promise, { output: "slow done" }) }));
        fw.register(defineWorkflow({ kind: "parent", run: async (ctx) => ({ output: await ctx.join(await ctx.spawn("kid", "slow", {})) }) }));
        const id = await fw.insert("parent", {}, { queue: "parents" });
        await fw.runUntilIdle({ queues: ["parents"] });
        expect(await fw.findJob(id)).toMatchObject({ state: "waiting", waitReason: "children" });
        const kid = (await fw.listJobs({ kind: "slow" }))[0]!;
        const running = fw.runUntilIdle({ queues: ["default"] });
        gate.resolve();
        await running;
        expect((await fw.findJob(id)).state).toBe("available");
        await fw.runUntilIdle();
        expect(await fw.result(id)).toBe("slow done");
        expect(kid.parentJobId).toBe(id);
      });

      test("cancel with cascade ends the run and every descendant in one go", async () => {
        const fw = await setup();
        fw.register(defineWorker({ kind: "leaf", work: () => undefined }));
        fw.register(
          defineWorkflow({
            kind: "tree",
            async run(ctx, args: { depth: number }) {
              const kids = [await ctx.spawn("a", args.depth > 0 ? "tree" : "leaf", { depth: args.depth - 1 }), await ctx.spawn("b", "leaf", {})];
              for (const kid of kids) await ctx.join(kid);
              return { output: "never" };
            },
          }),
        );
        const root = await fw.insert("tree", { depth: 1 });
        await fw.workJob(root);
        const [subtree] = await fw.listJobs({ kind: "tree" }).then((jobs) => jobs.filter((j) => j.id !== root));
        await fw.workJob(subtree!.id);
        const before = await fw.listJobs({ limit: 10 });
        expect(before.filter((j) => j.state !== "cancelled")).toHaveLength(5);
        await fw.cancelJob(root, { cascade: true });
        const after = await fw.listJobs({ limit: 10 });
        expect(after.map((j) => j.state)).toEqual(after.map(() => "cancelled"));
        expect(after).toHaveLength(5);
        await expect(fw.result(root)).rejects.toBeInstanceOf(JobFailedError);
      });
    });

    describe("flows", () => {
      const checkout = defineFlow({
        kind: "checkout",
        steps: {
          validate: { work: ({ args }) => ({ ok: (args as { total: number }).total > 0 }) },
          audit: { work: () => ({ logged: true }) },
          charge: {
            dependsOn: ["validate"],
            when: (deps) => (deps.validate as { ok: boolean }).ok,
            signal: true,
            work: ({ signal }) => ({ charged: true, by: (signal as { by: string }).by }),
          },
          receipt: { dependsOn: ["charge", "audit"], work: ({ deps, skipped }) => ({ sent: deps.charge !== null, skipped }) },
        },
      });

      test("a flow runs its steps as child jobs in dependency order, waits for a signal step, and outputs by step", async () => {
        const fw = await setup();
        fw.register(checkout);
        const id = await fw.insert(checkout, { total: 10 });
        await fw.runUntilIdle();
        // validate and audit ran as children; charge waits for its signal, receipt for charge.
        expect(await fw.findJob(id)).toMatchObject({ state: "waiting", waitReason: "event" });
        await expect(fw.signal(id, "validate", {})).rejects.toMatchObject({ code: "invalid_state" });
        await expect(fw.signal(id, "nope", {})).rejects.toBeInstanceOf(ValidationError);
        await fw.signal(id, "charge", { by: "ann" });
        await expect(fw.signal(id, "charge", { by: "bob" })).rejects.toMatchObject({ code: "invalid_state" });
        for (let i = 0; i < 6 && (await fw.findJob(id)).state !== "succeeded"; i++) await fw.runUntilIdle();
        expect(await fw.result(id)).toEqual({
          validate: { ok: true },
          audit: { logged: true },
          charge: { charged: true, by: "ann" },
          receipt: { sent: true, skipped: [] },
        });
        const children = await fw.listJobs({ kind: "checkout:step", limit: 10 });
        expect(children.map((c) => (c.args as { step: string }).step).sort()).toEqual(["audit", "charge", "receipt", "validate"]);
        expect(children.every((c) => c.parentJobId === id && c.state === "succeeded")).toBe(true);
      });

      test("a step whose condition is false is skipped and its dependants still run; a failed step fails the flow", async () => {
        const fw = await setup();
        fw.register(checkout);
        const skipped = await fw.insert(checkout, { total: 0 });
        for (let i = 0; i < 6 && (await fw.findJob(skipped)).state !== "succeeded"; i++) await fw.runUntilIdle();
        expect(await fw.result(skipped)).toEqual({ validate: { ok: false }, audit: { logged: true }, charge: null, receipt: { sent: false, skipped: ["charge"] } });
        await expect(fw.signal(skipped, "charge", {})).rejects.toMatchObject({ code: "invalid_state" });

        const broken = defineFlow({ kind: "broken", steps: { a: { maxAttempts: 1, work: () => Promise.reject(new Error("step a broke")) }, b: { dependsOn: ["a"], work: () => 1 } } });
        fw.register(broken);
        const id = await fw.insert(broken, {});
        for (let i = 0; i < 6 && !["discarded", "succeeded"].includes((await fw.findJob(id)).state); i++) await fw.runUntilIdle();
        const error: any = await fw.result(id).catch((e) => e);
        expect(error).toBeInstanceOf(JobFailedError);
        expect(error.errorMessage).toContain('step "a" discarded: step a broke');
        expect(await fw.listJobs({ kind: "broken:step" }).then((jobs) => jobs.length)).toBe(1);
      });

      test("a flow with an unknown dependency or a cycle is refused when defined", () => {
        expect(() => defineFlow({ kind: "bad", steps: { a: { dependsOn: ["x"], work: () => 1 } } })).toThrow('depends on unknown step "x"');
        expect(() => defineFlow({ kind: "loop", steps: { a: { dependsOn: ["b"], work: () => 1 }, b: { dependsOn: ["a"], work: () => 1 } } })).toThrow("cycle");
      });
    });

    describe("result", () => {
      test("result returns the output, throws JobFailedError for a failed run, and times out", async () => {
        const fw = await setup();
        fw.register(defineWorkflow({ kind: "fails", maxAttempts: 1, run: () => Promise.reject(new Error("boom")) }));
        fw.register(defineWorkflow({ kind: "waits", run: async (ctx) => void (await ctx.waitForEvent("never")) }));
        const failed = await fw.insert("fails", {});
        const waiting = await fw.insert("waits", {});
        await fw.runUntilIdle();
        const error: any = await fw.result(failed).catch((e) => e);
        expect(error).toBeInstanceOf(JobFailedError);
        expect(error.errorMessage).toBe("boom");
        const timeout: any = await fw.result(waiting, { timeout: "20ms" }).catch((e) => e);
        expect(timeout).toBeInstanceOf(FlywheelError);
        expect(timeout.code).toBe("timeout");
      });
    });
  });
}
