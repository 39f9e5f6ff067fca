/**
 * The behaviour contract of SPEC.md, written once and run against every driver (`sqlite.test.ts`,
 * `postgres.pg.test.ts`). Time is a FixedClock throughout: no test waits on wall time for a result.
 */
import { afterEach, describe, expect, test } from "bun:test";
import * as v from "valibot";
import type { ConnectOptions, Flywheel } from "../../src/index.ts";
import { FixedClock } from "../../src/core/clock.ts";
import { AlreadyEnqueuedError, FlywheelError, JobNotFoundError, PermanentError, ValidationError, WorkerError } from "../../src/core/errors.ts";
import type { FinalizeItem, JobInsertRow } from "../../src/driver/types.ts";
import { crashed } from "../../src/jobs/outcome.ts";
import { Finalizer } from "../../src/jobs/finalizer.ts";
import { newId } from "../../src/core/id.ts";
import { OVERLAP_SKIP_REASON } from "../../src/core/skip-reason.ts";
import { jitterOffsetMs } from "../../src/periodic/jitter.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { defineWorker } from "../../src/runtime/define-worker.ts";
import { deferred, eventually } from "../support/helpers.ts";

/** An open test database. `transaction` runs `body` in a native transaction of the dialect and commits or rolls back. */
export interface ConformanceHandle {
  fw: Flywheel;
  cleanup(): Promise<void>;
  transaction(body: (tx: any) => Promise<string>, outcome: "commit" | "rollback"): Promise<string>;
}

/** Opens a fresh, migrated database for one test. */
export type OpenConformance = (options: ConnectOptions) => Promise<ConformanceHandle>;

const T0 = new Date("2026-03-08T06:00:00Z");

/** Registers the conformance suite under `name`. */
export function runConformance(name: string, open: OpenConformance): void {
  describe(`conformance: ${name}`, () => {
    let handle: ConformanceHandle | null = null;
    let clock: FixedClock;

    async function setup(start: Date = T0): Promise<Flywheel> {
      clock = new FixedClock(start);
      handle = await open({ clock });
      return handle.fw;
    }

    afterEach(async () => {
      await handle?.cleanup();
      handle = null;
    });

    const noop = defineWorker({ kind: "noop", work: () => undefined });

    describe("enqueue", () => {
      test("uniqueKey collides with any job that ever held it and reports the holder", async () => {
        const fw = await setup();
        fw.register(noop);
        const first = await fw.insert("noop", {}, { uniqueKey: "k1" });
        const err = await fw.insert("noop", {}, { uniqueKey: "k1" }).catch((e) => e);
        expect(err).toBeInstanceOf(AlreadyEnqueuedError);
        expect(err.existingId).toBe(first);
        expect(err.key).toBe("unique_key");
        await fw.runUntilIdle();
        expect((await fw.findJob(first)).state).toBe("succeeded");
        const again = await fw.insert("noop", {}, { uniqueKey: "k1" }).catch((e) => e);
        expect(again).toBeInstanceOf(AlreadyEnqueuedError);
        expect(again.existingId).toBe(first);
      });

      test("uniqueActiveKey collides only while the holder is not terminal", async () => {
        const fw = await setup();
        fw.register(noop);
        const first = await fw.insert("noop", {}, { uniqueActiveKey: "a1" });
        const err = await fw.insert("noop", {}, { uniqueActiveKey: "a1" }).catch((e) => e);
        expect(err).toBeInstanceOf(AlreadyEnqueuedError);
        expect(err.existingId).toBe(first);
        expect(err.key).toBe("unique_active_key");
        await fw.runUntilIdle();
        const second = await fw.insert("noop", {}, { uniqueActiveKey: "a1" });
        expect(second).not.toBe(first);
      });

      test("insertMany returns ids in input order and skips collisions, reporting which", async () => {
        const fw = await setup();
        const existing = await fw.insert("noop", {}, { uniqueKey: "dup" });
        const ids = await fw.insertMany([
          { kind: "noop", args: { n: 0 } },
          { kind: "noop", args: { n: 1 }, options: { uniqueKey: "dup" } },
          { kind: "noop", args: { n: 2 }, options: { uniqueKey: "fresh" } },
          { kind: "noop", args: { n: 3 }, options: { uniqueKey: "fresh" } },
        ]);
        expect(ids).toHaveLength(4);
        expect(ids[1]).toBe(existing);
        expect(ids[3]).toBe(ids[2]!);
        expect(ids.skipped).toEqual([
          { index: 1, existingId: existing, key: "unique_key" },
          { index: 3, existingId: ids[2]!, key: "unique_key" },
        ]);
        expect((await fw.findJob(ids[0]!)).args).toEqual({ n: 0 });
        expect((await fw.findJob(ids[2]!)).args).toEqual({ n: 2 });
        expect((await fw.listJobs({ limit: 100 })).length).toBe(3);
      });

      test("insertMany writes large batches in input order", async () => {
        const fw = await setup();
        const ids = await fw.insertMany(Array.from({ length: 2500 }, (_, n) => ({ kind: "noop", args: { n } })));
        expect(ids).toHaveLength(2500);
        expect(new Set(ids).size).toBe(2500);
        expect((await fw.findJob(ids[1234]!)).args).toEqual({ n: 1234 });
        expect((await fw.queueHealth()).ready).toBe(2500);
      });

      test("outbox: the job exists if and only if the caller's transaction commits", async () => {
        const fw = await setup();
        const committed = await handle!.transaction((tx) => fw.insert("noop", { via: "commit" }, { tx }), "commit");
        expect((await fw.findJob(committed)).args).toEqual({ via: "commit" });
        const rolledBack = await handle!.transaction((tx) => fw.insert("noop", { via: "rollback" }, { tx }), "rollback");
        await expect(fw.findJob(rolledBack)).rejects.toBeInstanceOf(JobNotFoundError);
      });

      test("outbox: a refused insert fails the caller's transaction, which rolls back whole", async () => {
        const fw = await setup();
        const holder = await fw.insert("noop", {}, { uniqueKey: "taken" });
        // Neither insert is awaited inside the transaction: on SQLite the callback is synchronous, so a refusal
        // must throw there and then for the caller's transaction to roll back.
        const err = await handle!
          .transaction((tx) => {
            void fw.insert("noop", { first: true }, { tx });
            return fw.insert("noop", { second: true }, { tx, uniqueKey: "taken" });
          }, "commit")
          .catch((e) => e);
        expect(err).toBeInstanceOf(AlreadyEnqueuedError);
        expect(err.existingId).toBe(holder);
        expect((await fw.listJobs({ limit: 10 })).map((j) => j.id)).toEqual([holder]);
        const invalid = await handle!
          .transaction((tx) => {
            void fw.insert("noop", { first: true }, { tx });
            return fw.insert("noop", {}, { tx, maxAttempts: 0 });
          }, "commit")
          .catch((e) => e);
        expect(invalid).toMatchObject({ code: "validation" });
        expect((await fw.listJobs({ limit: 10 })).map((j) => j.id)).toEqual([holder]);
      });

      test("invalid options are refused with ValidationError and nothing is stored", async () => {
        const fw = await setup();
        const cases: Array<[string, Record<string, unknown>]> = [
          ["maxAttempts", { maxAttempts: 0 }],
          ["maxAttempts", { maxAttempts: -1 }],
          ["maxAttempts", { maxAttempts: 1.5 }],
          ["priority", { priority: 2 ** 31 }],
          ["priority", { priority: -(2 ** 31) - 1 }],
          ["scheduleAt", { scheduleAt: new Date("not a date") }],
          ["queue", { queue: "a\u0000b" }],
          ["uniqueKey", { uniqueKey: "k\u0000" }],
          ["timeout", { timeout: "soon" }],
          ["timeout", { timeout: 0 }],
          ["delay", { delay: -5 }],
        ];
        for (const [path, options] of cases) {
          const error = await fw.insert("noop", {}, options).catch((e) => e);
          expect(error).toBeInstanceOf(ValidationError);
          expect(error.path).toBe(path);
        }
        const nul = await fw.insert("no\u0000op", {}).catch((e) => e);
        expect(nul).toBeInstanceOf(ValidationError);
        expect(await fw.listJobs({ limit: 10 })).toEqual([]);
      });

      test("retryJob into a unique_active_key another active job holds is an AlreadyEnqueuedError naming it", async () => {
        const fw = await setup();
        fw.register(defineWorker({ kind: "fails", work: () => Promise.reject(new PermanentError("no")) }));
        const first = await fw.insert("fails", {}, { uniqueActiveKey: "only-one" });
        await fw.runUntilIdle();
        expect((await fw.findJob(first)).state).toBe("discarded");
        const second = await fw.insert("noop", {}, { uniqueActiveKey: "only-one" });
        const error = await fw.retryJob(first).catch((e) => e);
        expect(error).toBeInstanceOf(AlreadyEnqueuedError);
        expect(error.existingId).toBe(second);
        expect((await fw.findJob(first)).state).toBe("discarded");
      });

      test("args failing the worker's schema are refused at insert, naming the field", async () => {
        const fw = await setup();
        fw.register(defineWorker({ kind: "typed", args: v.object({ docId: v.string() }), work: () => undefined }));
        const err = await fw.insert("typed", { docId: 42 }).catch((e) => e);
        expect(err).toBeInstanceOf(FlywheelError);
        expect(err.code).toBe("validation");
        expect(err.message).toContain("docId");
      });

      test("options and worker defaults land on the row", async () => {
        const fw = await setup();
        const w = defineWorker({ kind: "defaults", queue: "q2", priority: 7, maxAttempts: 3, timeout: "30s", work: () => undefined });
        fw.register(w);
        const id = await fw.insert(w, {}, { tags: ["a"], requestId: "req-1", executorClass: "gpu" });
        const job = await fw.findJob(id);
        expect(job).toMatchObject({ queue: "q2", priority: 7, maxAttempts: 3, timeoutMs: 30_000, tags: ["a"], executorClass: "gpu", state: "available" });
        expect(job.metadata).toEqual({ request_id: "req-1" });
        const delayed = await fw.findJob(await fw.insert(w, {}, { delay: "5m", priority: 1 }));
        expect(delayed.state).toBe("scheduled");
        expect(delayed.scheduledAt.getTime()).toBe(T0.getTime() + 300_000);
        expect(delayed.priority).toBe(1);
      });
    });

    describe("claim", () => {
      test("claims by priority, then scheduled_at, then id", async () => {
        const fw = await setup();
        const order: string[] = [];
        fw.register(defineWorker({ kind: "rec", work: (job) => void order.push((job.args as { n: string }).n) }));
        await fw.insert("rec", { n: "p100-late" }, { scheduleAt: new Date(T0.getTime() - 1_000) });
        await fw.insert("rec", { n: "p100-early" }, { scheduleAt: new Date(T0.getTime() - 5_000) });
        await fw.insert("rec", { n: "p1" }, { priority: 1 });
        await fw.insert("rec", { n: "p100-now-a" });
        await fw.insert("rec", { n: "p100-now-b" });
        await fw.runUntilIdle();
        expect(order).toEqual(["p1", "p100-early", "p100-late", "p100-now-a", "p100-now-b"]);
      });

      test("a future job is not claimed before its time", async () => {
        const fw = await setup();
        fw.register(noop);
        const id = await fw.insert("noop", {}, { delay: "10s" });
        expect(await fw.runUntilIdle()).toBe(0);
        clock.advance("9999ms");
        expect(await fw.runUntilIdle()).toBe(0);
        clock.advance("1ms");
        expect(await fw.runUntilIdle()).toBe(1);
        expect((await fw.findJob(id)).state).toBe("succeeded");
      });

      test("the claim commits a started run stub before the worker runs, whose id the worker sees", async () => {
        const fw = await setup();
        const seen: Array<{ runId: string; outcome: string | undefined }> = [];
        fw.register(
          defineWorker({
            kind: "peek",
            async work(job) {
              const runs = await fw.listRuns(job.id);
              seen.push({ runId: job.runId, outcome: runs.find((r) => r.id === job.runId)?.outcome });
            },
          }),
        );
        const id = await fw.insert("peek", {});
        await fw.runUntilIdle();
        expect(seen).toHaveLength(1);
        expect(seen[0]!.outcome).toBe("started");
        const runs = await fw.listRuns(id);
        expect(runs.map((r) => [r.id, r.outcome, r.attempt])).toEqual([[seen[0]!.runId, "success", 1]]);
      });

      test("executor classes route jobs: a runner serves its class plus unclassed jobs", async () => {
        const fw = await setup();
        fw.register(noop);
        const gpu = await fw.insert("noop", {}, { executorClass: "gpu" });
        const plain = await fw.insert("noop", {});
        expect(await fw.runUntilIdle({ queues: ["default"], executorClass: "cpu" })).toBe(1);
        expect((await fw.findJob(plain)).state).toBe("succeeded");
        expect((await fw.findJob(gpu)).state).toBe("available");
        expect(await fw.runUntilIdle({ queues: ["default"], executorClass: "gpu" })).toBe(1);
        expect((await fw.findJob(gpu)).state).toBe("succeeded");
      });

      test("a runner only claims its queues", async () => {
        const fw = await setup();
        fw.register(noop);
        const other = await fw.insert("noop", {}, { queue: "other" });
        expect(await fw.runUntilIdle({ queues: ["default"] })).toBe(0);
        expect(await fw.runUntilIdle({ queues: ["other"] })).toBe(1);
        expect((await fw.findJob(other)).state).toBe("succeeded");
      });
    });

    describe("results and errors", () => {
      test("transient errors retry with backoff inside the §6.5 bounds until the budget ends in discarded", async () => {
        const fw = await setup();
        fw.register(defineWorker({ kind: "flaky", work: () => Promise.reject(new Error("boom")) }));
        const id = await fw.insert("flaky", {}, { maxAttempts: 4 });
        const delays: number[] = [];
        for (let attempt = 1; attempt <= 4; attempt++) {
          expect(await fw.runUntilIdle()).toBe(1);
          const job = await fw.findJob(id);
          expect(job.attempt).toBe(attempt);
          if (attempt < 4) {
            expect(job.state).toBe("retryable");
            const delay = job.scheduledAt.getTime() - clock.now().getTime();
            const nominal = Math.min(1000 * 2 ** (attempt - 1), 60_000);
            expect(delay).toBeGreaterThanOrEqual(nominal * 0.75);
            expect(delay).toBeLessThan(nominal * 1.25);
            delays.push(delay);
            clock.set(job.scheduledAt);
          } else {
            expect(job.state).toBe("discarded");
            expect(job.finalizedAt).toEqual(clock.now());
          }
        }
        const runs = await fw.listRuns(id);
        expect(runs.map((r) => [r.attempt, r.outcome, r.errorClass, r.errorMessage])).toEqual([
          [1, "error", "transient", "boom"],
          [2, "error", "transient", "boom"],
          [3, "error", "transient", "boom"],
          [4, "error", "transient", "boom"],
        ]);
      });

      test("backoff caps at the runner's cap", async () => {
        const fw = await setup();
        fw.register(defineWorker({ kind: "flaky", work: () => Promise.reject(new Error("boom")) }));
        const id = await fw.insert("flaky", {}, { maxAttempts: 10 });
        for (let i = 0; i < 6; i++) {
          await fw.runUntilIdle({ backoff: { base: "1s", cap: "4s" } });
          clock.set((await fw.findJob(id)).scheduledAt);
        }
        const now = clock.now().getTime();
        await fw.runUntilIdle({ backoff: { base: "1s", cap: "4s" } });
        const delay = (await fw.findJob(id)).scheduledAt.getTime() - now;
        expect(delay).toBeGreaterThanOrEqual(3000);
        expect(delay).toBeLessThan(5000);
      });

      test("PermanentError and a classify hook discard at once", async () => {
        const fw = await setup();
        fw.register(defineWorker({ kind: "perm", work: () => Promise.reject(new PermanentError("customer deleted")) }));
        fw.register(
          defineWorker({
            kind: "classified",
            work: () => Promise.reject(new Error("HTTP 400")),
            classify: (e) => (e.message.includes("400") ? "permanent" : undefined),
          }),
        );
        const a = await fw.insert("perm", {});
        const b = await fw.insert("classified", {});
        await fw.runUntilIdle();
        for (const id of [a, b]) {
          expect((await fw.findJob(id)).state).toBe("discarded");
          const [run] = await fw.listRuns(id);
          expect(run!.errorClass).toBe("permanent");
        }
      });

      test("a WorkerError keeps its output on the failed run", async () => {
        const fw = await setup();
        fw.register(defineWorker({ kind: "cmd", work: () => Promise.reject(new WorkerError("exit 3", { output: { exit_code: 3 }, errorClass: "permanent" })) }));
        const id = await fw.insert("cmd", {});
        await fw.runUntilIdle();
        const [run] = await fw.listRuns(id);
        expect(run).toMatchObject({ outcome: "error", errorClass: "permanent", errorMessage: "exit 3", output: { exit_code: 3 } });
      });

      test("a timeout aborts the signal and records timeout", async () => {
        const fw = await setup();
        const started = deferred();
        let reason: unknown;
        fw.register(
          defineWorker({
            kind: "slow",
            timeout: "5s",
            work: (job) =>
              new Promise((_, reject) => {
                started.resolve();
                job.signal.addEventListener("abort", () => {
                  reason = job.signal.reason;
                  reject(new Error("aborted"));
                });
              }),
          }),
        );
        const id = await fw.insert("slow", {});
        const run = fw.runUntilIdle();
        await started.promise;
        clock.advance("4999ms");
        expect(reason).toBeUndefined();
        clock.advance("1ms");
        await run;
        expect((reason as Error).name).toBe("TimeoutError");
        const job = await fw.findJob(id);
        expect(job.state).toBe("retryable");
        const [r] = await fw.listRuns(id);
        expect(r).toMatchObject({ outcome: "timeout", errorClass: "timeout" });
      });

      test("a per-job timeout beats the worker's", async () => {
        const fw = await setup();
        const started = deferred();
        fw.register(
          defineWorker({
            kind: "slow",
            timeout: "1h",
            work: (job) =>
              new Promise((_, reject) => {
                started.resolve();
                job.signal.addEventListener("abort", () => reject(job.signal.reason));
              }),
          }),
        );
        const id = await fw.insert("slow", {}, { timeout: "2s", maxAttempts: 1 });
        const run = fw.runUntilIdle();
        await started.promise;
        clock.advance("2s");
        await run;
        expect((await fw.findJob(id)).state).toBe("discarded");
        expect((await fw.listRuns(id))[0]!.outcome).toBe("timeout");
      });

      test("snooze reschedules without consuming an attempt", async () => {
        const fw = await setup();
        let calls = 0;
        fw.register(defineWorker({ kind: "snoozy", work: () => (++calls === 1 ? { snooze: "30s" } : { output: "done" }) }));
        const id = await fw.insert("snoozy", {}, { maxAttempts: 1 });
        await fw.runUntilIdle();
        let job = await fw.findJob(id);
        expect(job.state).toBe("scheduled");
        expect(job.scheduledAt.getTime()).toBe(T0.getTime() + 30_000);
        expect(job.maxAttempts - job.attempt).toBe(1);
        clock.advance("30s");
        await fw.runUntilIdle();
        job = await fw.findJob(id);
        expect(job.state).toBe("succeeded");
        expect((await fw.listRuns(id)).map((r) => r.outcome)).toEqual(["snooze", "success"]);
      });

      test("a cancel result ends the job cancelled; cancel beats snooze", async () => {
        const fw = await setup();
        fw.register(defineWorker({ kind: "quit", work: () => ({ cancel: "not needed any more", snooze: "1m", output: { why: "x" } }) }));
        const id = await fw.insert("quit", {});
        await fw.runUntilIdle();
        const job = await fw.findJob(id);
        expect(job.state).toBe("cancelled");
        expect(job.finalizedAt).toEqual(T0);
        const [run] = await fw.listRuns(id);
        expect(run).toMatchObject({ outcome: "cancelled", errorMessage: "not needed any more", output: { why: "x" } });
      });

      test("output and cost land on the run", async () => {
        const fw = await setup();
        fw.register(defineWorker({ kind: "cost", work: () => ({ output: { summary: "…" }, costMicros: 1200 }) }));
        const id = await fw.insert("cost", {});
        await fw.runUntilIdle();
        expect((await fw.listRuns(id))[0]).toMatchObject({ outcome: "success", output: { summary: "…" }, costMicros: 1200 });
      });

      test("follow-ups are inserted with the finalize, linked when parent is set, collisions skipped", async () => {
        const fw = await setup();
        fw.register(noop);
        await fw.insert("noop", {}, { uniqueKey: "taken" });
        fw.register(
          defineWorker({
            kind: "parent",
            work: () => ({
              followUps: [
                { kind: "noop", args: { child: 1 }, parent: true },
                { kind: "noop", args: { child: 2 } },
                { kind: "noop", args: { child: 3 }, options: { uniqueKey: "taken" } },
              ],
            }),
          }),
        );
        const id = await fw.insert("parent", {});
        await fw.workJob(id);
        const [run] = await fw.listRuns(id);
        expect(run!.enqueuedChildren).toBe(2);
        const kids = (await fw.listJobs({ kind: "noop", limit: 10 })).filter((j) => j.uniqueKey === null);
        expect(kids.map((k) => k.args).sort((a: any, b: any) => a.child - b.child)).toEqual([{ child: 1 }, { child: 2 }]);
        expect(kids.find((k) => (k.args as any).child === 1)!.parentJobId).toBe(id);
        expect(kids.find((k) => (k.args as any).child === 2)!.parentJobId).toBeNull();
      });

      test("an invalid follow-up discards the parent with the reason and stalls nothing behind it", async () => {
        const fw = await setup();
        fw.register(noop);
        fw.register(defineWorker({ kind: "badkids", work: () => ({ followUps: [{ kind: "noop", options: { priority: 1.5 } }] }) }));
        const bad = await fw.insert("badkids", {});
        const good = await fw.insert("noop", {});
        expect(await fw.runUntilIdle({ concurrency: 2 })).toBe(2);
        expect((await fw.findJob(bad)).state).toBe("discarded");
        const [run] = await fw.listRuns(bad);
        expect(run!.errorClass).toBe("validation");
        expect(run!.errorMessage).toContain("priority must be a whole number");
        expect((await fw.findJob(good)).state).toBe("succeeded");
        expect((await fw.listJobs({ kind: "noop" })).length).toBe(1);
      });

      test("an outcome the database refuses is recorded as refused; the rest of its batch commits", async () => {
        const fw = await setup();
        const [a, b] = await fw.insertMany([{ kind: "noop" }, { kind: "noop" }]);
        const claimed = await fw.driver.jobClaim({ queues: null, executorClasses: null, limit: 2, now: clock.now(), leasedUntil: new Date(T0.getTime() + 30_000), leaseToken: newId(), executorId: "t" });
        const finalizer = new Finalizer(fw.driver, clock, silentLogger, fw.events);
        const item = (jobId: string, followUps: JobInsertRow[]): FinalizeItem => {
          const job = claimed.find((j) => j.id === jobId)!;
          return {
            jobId,
            runId: job.runId,
            leaseToken: job.leaseToken!,
            run: { outcome: "success", errorClass: null, errorMessage: null, output: { ok: true }, finishedAt: clock.now(), durationMs: 1, costMicros: null },
            job: { state: "succeeded", scheduledAt: null, maxAttemptsDelta: 0 },
            followUps,
          };
        };
        // A row no runtime code would build: its state violates the table's CHECK constraint.
        const poison = { ...fw.runtime.builder.build("noop", {}, {}, clock.now()), state: "bogus" as "available" };
        const [good, bad] = await Promise.all([finalizer.submit(item(a!, [])), finalizer.submit(item(b!, [poison]))]);
        expect(good).toMatchObject({ applied: true, outcome: "success" });
        expect(bad).toMatchObject({ applied: true, outcome: "error" });
        expect((await fw.findJob(a!)).state).toBe("succeeded");
        expect((await fw.findJob(b!)).state).toBe("discarded");
        const [run] = await fw.listRuns(b!);
        expect(run!.errorMessage).toStartWith("jobs: finalize refused by the database: ");
        expect((await fw.listJobs({ limit: 10 })).length).toBe(2);
      });

      test("a finalize after losing the lease records superseded, leaves the job alone and inserts no follow-ups", async () => {
        const fw = await setup();
        fw.register(noop);
        const gate = deferred();
        const started = deferred();
        fw.register(
          defineWorker({
            kind: "late",
            async work() {
              started.resolve();
              await gate.promise;
              return { followUps: [{ kind: "noop", args: { from: "late" } }] };
            },
          }),
        );
        const id = await fw.insert("late", {});
        const run = fw.runUntilIdle();
        await started.promise;
        // Another node whose clock is past this lease sweeps the job back to the queue.
        const later = new Date(T0.getTime() + 31_000);
        const expired = await fw.driver.leaseListExpired({ now: later, limit: 10 });
        expect(expired.map((l) => l.jobId)).toEqual([id]);
        const [swept] = await fw.driver.jobFinalize({ items: expired.map((l) => crashed(l, later, 0)), now: later });
        expect(swept!.applied).toBe(true);
        gate.resolve();
        await run;
        const job = await fw.findJob(id);
        expect(job.state).toBe("retryable");
        expect(job.leaseToken).toBeNull();
        expect((await fw.listRuns(id)).map((r) => r.outcome)).toEqual(["superseded"]);
        expect(await fw.listJobs({ kind: "noop" })).toEqual([]);
      });

      test("an unknown kind is discarded with the reason recorded", async () => {
        const fw = await setup();
        const id = await fw.insert("nobody_handles_this", {});
        await fw.runUntilIdle();
        expect((await fw.findJob(id)).state).toBe("discarded");
        const [run] = await fw.listRuns(id);
        expect(run).toMatchObject({ outcome: "error", errorClass: "unknown_kind" });
        expect(run!.errorMessage).toContain("nobody_handles_this");
      });

      test("args that fail the schema at run time are discarded with the field named", async () => {
        const fw = await setup();
        const id = await fw.insert("typed", { docId: 42 });
        fw.register(defineWorker({ kind: "typed", args: v.object({ docId: v.string() }), work: () => undefined }));
        await fw.runUntilIdle();
        expect((await fw.findJob(id)).state).toBe("discarded");
        const [run] = await fw.listRuns(id);
        expect(run!.errorClass).toBe("validation");
        expect(run!.errorMessage).toContain("docId");
      });

      test("a worker that throws a non-Error value is recorded, not crashed on", async () => {
        const fw = await setup();
        fw.register(defineWorker({ kind: "weird", work: () => Promise.reject({ code: 7 }) }));
        fw.register(defineWorker({ kind: "weirder", work: () => Promise.reject(undefined) }));
        const a = await fw.insert("weird", {}, { maxAttempts: 1 });
        const b = await fw.insert("weirder", {}, { maxAttempts: 1 });
        expect(await fw.runUntilIdle()).toBe(2);
        expect((await fw.listRuns(a))[0]!.errorMessage).toContain('{"code":7}');
        expect((await fw.listRuns(b))[0]!.errorMessage).toContain("undefined");
        expect((await fw.findJob(a)).state).toBe("discarded");
      });

      test("whatever a worker definition does wrong ends as a recorded outcome and frees the slot", async () => {
        const fw = await setup();
        fw.register(noop);
        // Enqueued before its worker is known, then registered raw, bypassing defineWorker's checks, as a plain
        // object from elsewhere might be.
        const a = await fw.insert("bad-timeout", {});
        fw.register({ kind: "bad-timeout", timeout: "soon", work: () => undefined } as never);
        fw.register({ kind: "bad-hooks", work: () => Promise.reject(new Error("boom")), classify: () => { throw new Error("classify broke"); }, retryDelay: () => { throw new Error("retryDelay broke"); } } as never);
        fw.register(defineWorker({ kind: "bigint", work: () => ({ output: { n: 1n } }) }));
        const b = await fw.insert("bad-hooks", {}, { maxAttempts: 2 });
        const c = await fw.insert("bigint", {});
        const d = await fw.insert("noop", {});
        // One slot: every attempt after a broken one still runs, so each broken one freed it.
        expect(await fw.runUntilIdle({ concurrency: 1 })).toBe(4);
        expect((await fw.listRuns(a)).map((r) => [r.outcome, r.errorClass])).toEqual([["error", "validation"]]);
        expect((await fw.listRuns(a))[0]!.errorMessage).toContain("soon");
        expect((await fw.findJob(b)).state).toBe("retryable");
        expect((await fw.listRuns(b)).map((r) => [r.outcome, r.errorClass])).toEqual([["error", "transient"]]);
        expect((await fw.listRuns(c)).map((r) => [r.outcome, r.errorClass])).toEqual([["error", "validation"]]);
        expect((await fw.findJob(d)).state).toBe("succeeded");
        expect(() => defineWorker({ kind: "x", timeout: "soon", work: () => undefined })).toThrow(ValidationError);
        expect(() => defineWorker({ kind: "x", maxAttempts: 0, work: () => undefined })).toThrow("maxAttempts");
      });
    });

    describe("invariants", () => {
      test("after any sequence of operations and a sweep, no started run exists for a job that is not running", async () => {
        const fw = await setup();
        const random = seeded(20261128);
        const pick = <T>(items: T[]): T | undefined => items[Math.floor(random() * items.length)];
        const held = new Map<string, { id: string; runId: string; leaseToken: string | null }>();
        const ids: string[] = [];
        for (let step = 0; step < 300; step++) {
          const now = clock.now();
          const roll = random();
          if (roll < 0.2 || ids.length === 0) {
            ids.push(await fw.insert("noop", {}, { maxAttempts: 3, uniqueActiveKey: random() < 0.2 ? `k${Math.floor(random() * 3)}` : undefined }).catch(() => ids[0]!));
          } else if (roll < 0.4) {
            const claimed = await fw.driver.jobClaim({ queues: null, executorClasses: null, limit: 2, now, leasedUntil: new Date(now.getTime() + 10_000), leaseToken: newId(), executorId: "prop" });
            for (const job of claimed) held.set(job.id, job);
          } else if (roll < 0.55) {
            // A finalize, possibly late: after a cancel or a sweep took the lease.
            const job = pick([...held.values()]);
            if (job) {
              held.delete(job.id);
              const fails = random() < 0.5;
              await fw.driver.jobFinalize({
                items: [{
                  jobId: job.id,
                  runId: job.runId,
                  leaseToken: job.leaseToken!,
                  run: { outcome: fails ? "error" : "success", errorClass: fails ? "transient" : null, errorMessage: null, output: null, finishedAt: now, durationMs: 1, costMicros: null },
                  job: fails ? { state: "retryable", scheduledAt: now, maxAttemptsDelta: 0 } : { state: "succeeded", scheduledAt: null, maxAttemptsDelta: 0 },
                  followUps: [],
                }],
                now,
              });
            }
          } else if (roll < 0.7) {
            await fw.cancelJob(pick(ids)!).catch(() => undefined);
          } else if (roll < 0.8) {
            await fw.retryJob(pick(ids)!).catch(() => undefined);
          } else if (roll < 0.9) {
            clock.advance(`${Math.floor(random() * 15)}s`);
            await fw.sweep();
          } else {
            clock.advance("1s");
          }
        }
        await fw.sweep();
        const offenders: string[] = [];
        for (const id of new Set(ids)) {
          const job = await fw.findJob(id);
          for (const run of await fw.listRuns(id)) {
            if (run.outcome === "started" && !(job.state === "running" && run.attempt === job.attempt)) offenders.push(`${id} ${job.state} attempt ${run.attempt}`);
          }
        }
        expect(offenders).toEqual([]);
        expect(new Set(ids).size).toBeGreaterThan(20);
      });
    });

    describe("finalize and claim in one transaction", () => {
      const claimParams = (limit: number) => ({
        queues: ["default"],
        executorClasses: null,
        limit,
        now: clock.now(),
        leasedUntil: new Date(clock.now().getTime() + 30_000),
        leaseToken: newId(),
        executorId: "t",
      });
      const success = (job: { id: string; runId: string; leaseToken: string | null }, followUps: JobInsertRow[] = []): FinalizeItem => ({
        jobId: job.id,
        runId: job.runId,
        leaseToken: job.leaseToken!,
        run: { outcome: "success", errorClass: null, errorMessage: null, output: undefined, finishedAt: clock.now(), durationMs: 1, costMicros: null },
        job: { state: "succeeded", scheduledAt: null, maxAttemptsDelta: 0 },
        followUps,
      });

      test("commits the outcomes (follow-ups, lost leases) and claims the next jobs", async () => {
        const fw = await setup();
        const ids = (await fw.insertMany([{ kind: "noop" }, { kind: "noop" }, { kind: "noop" }, { kind: "noop" }])) as string[];
        const [a, b] = await fw.driver.jobClaim(claimParams(2));
        expect([a!.id, b!.id]).toEqual(ids.slice(0, 2));
        await fw.cancelJob(b!.id);
        const child = fw.runtime.builder.build("noop", { child: true }, { queue: "kids" }, clock.now());
        const items = [success(a!, [child]), success(b!)];
        const { outcomes, jobs } = await fw.driver.jobFinalizeAndClaim({ items, claim: claimParams(5) });

        expect(outcomes).toEqual([
          { applied: true, outcome: "success", children: [{ inserted: true, id: child.id }] },
          { applied: false, outcome: "cancelled", children: [] },
        ]);
        expect(jobs.map((j) => j.id)).toEqual(ids.slice(2));
        for (const job of jobs) expect((await fw.listRuns(job.id)).map((r) => [r.id, r.outcome])).toEqual([[job.runId, "started"]]);
        expect((await fw.findJob(a!.id)).state).toBe("succeeded");
        expect((await fw.listRuns(a!.id))[0]).toMatchObject({ outcome: "success", enqueuedChildren: 1 });
        expect((await fw.findJob(child.id)).parentJobId).toBeNull();
        expect((await fw.findJob(b!.id)).state).toBe("cancelled");

        // The same items again (a reply lost, the call retried) report what the first call recorded, change nothing.
        const again = await fw.driver.jobFinalizeAndClaim({ items, claim: claimParams(5) });
        expect(again.outcomes.map((o) => [o.applied, o.outcome])).toEqual([[true, "success"], [false, "cancelled"]]);
        expect(again.jobs).toEqual([]);
        expect((await fw.listJobs({ kind: "noop", limit: 10 })).length).toBe(5);
      });

      test("with nothing to finalize it claims; with nothing to claim it finalizes", async () => {
        const fw = await setup();
        const [x, y] = (await fw.insertMany([{ kind: "noop" }, { kind: "noop" }])) as string[];
        const first = await fw.driver.jobFinalizeAndClaim({ items: [], claim: claimParams(1) });
        expect(first.outcomes).toEqual([]);
        expect(first.jobs.map((j) => j.id)).toEqual([x!]);
        const second = await fw.driver.jobFinalizeAndClaim({ items: [success(first.jobs[0]!)], claim: claimParams(0) });
        expect(second).toEqual({ outcomes: [{ applied: true, outcome: "success", children: [] }], jobs: [] });
        expect((await fw.findJob(x!)).state).toBe("succeeded");
        expect((await fw.findJob(y!)).state).toBe("available");
      });
    });

    describe("leases", () => {
      test("the sweep returns an expired lease to the queue and marks its stub crashed", async () => {
        const fw = await setup();
        fw.register(noop);
        const id = await fw.insert("noop", {});
        // A runner that claimed and then died: the claim happened, nothing renews it.
        const [claimed] = await fw.driver.jobClaim({
          queues: null,
          executorClasses: null,
          limit: 1,
          now: clock.now(),
          leasedUntil: new Date(T0.getTime() + 30_000),
          leaseToken: newId(),
          executorId: "dead-node",
        });
        expect(claimed!.id).toBe(id);
        clock.advance("30s");
        expect(await fw.sweep()).toBe(0);
        clock.advance("1ms");
        expect(await fw.sweep()).toBe(1);
        const job = await fw.findJob(id);
        expect(job.state).toBe("retryable");
        expect(job.leaseToken).toBeNull();
        // Retried after the retry backoff like any failed attempt: attempt 1 waits 1 s × [0.75, 1.25).
        const wait = job.scheduledAt.getTime() - clock.now().getTime();
        expect(wait).toBeGreaterThanOrEqual(750);
        expect(wait).toBeLessThan(1250);
        const [run] = await fw.listRuns(id);
        expect(run).toMatchObject({ outcome: "crashed", errorClass: "crashed", executorId: "dead-node", durationMs: 30_001 });
        expect(await fw.runUntilIdle()).toBe(0);
        clock.advance("1250ms");
        await fw.runUntilIdle();
        expect((await fw.listRuns(id)).map((r) => r.outcome)).toEqual(["crashed", "success"]);
      });

      test("a swept job out of attempts is discarded", async () => {
        const fw = await setup();
        const id = await fw.insert("noop", {}, { maxAttempts: 1 });
        await fw.driver.jobClaim({ queues: null, executorClasses: null, limit: 1, now: clock.now(), leasedUntil: new Date(T0.getTime() + 1000), leaseToken: newId(), executorId: "x" });
        clock.advance("2s");
        const finished: Array<{ id: string; outcome: string; state: string | null; errorClass: string | null }> = [];
        fw.events.on("job:finished", (e) => finished.push({ id: e.job.id, outcome: e.outcome, state: e.state, errorClass: e.errorClass }));
        expect(await fw.sweep()).toBe(1);
        expect((await fw.findJob(id)).state).toBe("discarded");
        expect((await fw.listRuns(id)).map((r) => [r.outcome, r.errorClass])).toEqual([["crashed", "crashed"]]);
        // Reported like any attempt's end, so the discard reaches logs, metrics and alerts.
        expect(finished).toEqual([{ id, outcome: "crashed", state: "discarded", errorClass: "crashed" }]);
      });

      test("a renewed lease keeps a long job from being swept", async () => {
        const fw = await setup();
        const gate = deferred();
        const started = deferred();
        fw.register(defineWorker({ kind: "long", work: async () => (started.resolve(), await gate.promise) }));
        const id = await fw.insert("long", {});
        const run = fw.runUntilIdle({ lease: "30s" });
        await started.promise;
        expect((await fw.findJob(id)).leasedUntil).toEqual(new Date(T0.getTime() + 30_000));
        clock.advance("10s");
        await eventually("lease renewed", async () => (await fw.findJob(id)).leasedUntil?.getTime() === T0.getTime() + 40_000);
        clock.advance("25s");
        await eventually("lease renewed again", async () => (await fw.findJob(id)).leasedUntil!.getTime() >= T0.getTime() + 60_000);
        expect(await fw.sweep()).toBe(0);
        gate.resolve();
        await run;
        expect((await fw.listRuns(id)).map((r) => r.outcome)).toEqual(["success"]);
      });
    });

    describe("operator actions", () => {
      test("cancelJob aborts an in-flight attempt's signal and the job ends cancelled", async () => {
        const fw = await setup();
        const started = deferred();
        fw.register(
          defineWorker({
            kind: "wait",
            work: (job) =>
              new Promise((_, reject) => {
                started.resolve();
                job.signal.addEventListener("abort", () => reject(job.signal.reason));
              }),
          }),
        );
        const id = await fw.insert("wait", {});
        const run = fw.runUntilIdle();
        await started.promise;
        const cancelled = await fw.cancelJob(id);
        expect(cancelled.state).toBe("cancelled");
        await run;
        expect((await fw.findJob(id)).state).toBe("cancelled");
        expect((await fw.listRuns(id)).map((r) => r.outcome)).toEqual(["cancelled"]);
        await expect(fw.cancelJob(id)).rejects.toMatchObject({ code: "invalid_state" });
        await expect(fw.cancelJob(newId())).rejects.toBeInstanceOf(JobNotFoundError);
      });

      test("cancelJob of a queued job; retryJob brings it back with budget restored", async () => {
        const fw = await setup();
        let fail = true;
        fw.register(defineWorker({ kind: "once", work: () => (fail ? Promise.reject(new Error("no")) : undefined) }));
        const id = await fw.insert("once", {}, { maxAttempts: 1 });
        await fw.runUntilIdle();
        expect((await fw.findJob(id)).state).toBe("discarded");
        fail = false;
        const retried = await fw.retryJob(id);
        expect(retried).toMatchObject({ state: "available", attempt: 1, maxAttempts: 2, finalizedAt: null });
        await fw.runUntilIdle();
        expect((await fw.findJob(id)).state).toBe("succeeded");
        const queued = await fw.insert("once", {});
        expect((await fw.cancelJob(queued)).state).toBe("cancelled");
        expect(await fw.runUntilIdle()).toBe(0);
        await expect(fw.retryJob(newId())).rejects.toBeInstanceOf(JobNotFoundError);
      });

      test("listJobs filters newest first and pages; overview counts by kind and state", async () => {
        const fw = await setup();
        const a = await fw.insert("noop", {});
        const b = await fw.insert("other", {}, { queue: "q" });
        const c = await fw.insert("noop", {});
        expect((await fw.listJobs()).map((j) => j.id)).toEqual([c, b, a]);
        expect((await fw.listJobs({ kind: "noop" })).map((j) => j.id)).toEqual([c, a]);
        expect((await fw.listJobs({ queue: "q" })).map((j) => j.id)).toEqual([b]);
        expect((await fw.listJobs({ limit: 1, before: c })).map((j) => j.id)).toEqual([b]);
        expect((await fw.listJobs({ state: "succeeded" })).length).toBe(0);
        expect(await fw.overview()).toEqual([
          { kind: "noop", state: "available", count: 2 },
          { kind: "other", state: "available", count: 1 },
        ]);
      });

      test("retention deletes only old terminal jobs and their runs", async () => {
        const fw = await setup();
        fw.register(noop);
        const old = await fw.insert("noop", {});
        await fw.runUntilIdle();
        clock.advance("2d");
        const recent = await fw.insert("noop", {});
        await fw.runUntilIdle();
        const pending = await fw.insert("noop", {}, { delay: "1h" });
        clock.advance("1h");
        // pending is now due but still queued: not terminal, so never pruned however old.
        expect(await fw.deleteFinishedJobs({ olderThan: "1d" })).toBe(1);
        await expect(fw.findJob(old)).rejects.toBeInstanceOf(JobNotFoundError);
        expect(await fw.listRuns(old)).toEqual([]);
        expect((await fw.findJob(recent)).state).toBe("succeeded");
        expect((await fw.listRuns(recent)).length).toBe(1);
        expect((await fw.findJob(pending)).state).toBe("scheduled");
      });

      test("queueHealth reports counts, ready, scheduled-ahead and lag", async () => {
        const fw = await setup();
        await fw.insert("noop", {});
        await fw.insert("noop", {});
        await fw.insert("noop", {}, { delay: "1h" });
        clock.advance("90s");
        const h = await fw.queueHealth();
        expect(h.ready).toBe(2);
        expect(h.scheduledAhead).toBe(1);
        expect(h.inflight).toBe(0);
        expect(h.oldestReadyAgeSeconds).toBe(90);
        expect(h.counts).toMatchObject({ available: 2, scheduled: 1, running: 0, succeeded: 0 });
        expect(h.sampledAt).toEqual(clock.now());
      });

      test("recentFailures lists discarded jobs with their last attempt's error", async () => {
        const fw = await setup();
        fw.register(defineWorker({ kind: "bad", work: (job) => Promise.reject(new Error(`attempt ${job.attempt} failed`)) }));
        fw.register(noop);
        const id = await fw.insert("bad", {}, { maxAttempts: 2 });
        await fw.insert("noop", {});
        await fw.runUntilIdle();
        clock.set((await fw.findJob(id)).scheduledAt);
        await fw.runUntilIdle();
        const failures = await fw.recentFailures();
        expect(failures).toEqual([
          { jobId: id, kind: "bad", queue: "default", attempt: 2, finalizedAt: clock.now(), errorClass: "transient", errorMessage: "attempt 2 failed" },
        ]);
        expect(await fw.recentFailures({ since: new Date(clock.now().getTime() + 1) })).toEqual([]);
      });
    });

    describe("periodics", () => {
      test("jitter delays each fire's job by the slug's stable offset; the fire time, its key and next fire stay", async () => {
        const fw = await setup();
        fw.register(noop);
        await fw.upsertPeriodic({ slug: "nightly-backup", kind: "noop", every: "1h", jitter: "10m" });
        expect((await fw.findPeriodic("nightly-backup")).jitterMs).toBe(600_000);
        const offset = jitterOffsetMs("nightly-backup", 600_000);
        // The offset is fixed by the slug: a different slug (almost surely) gets another one.
        expect(offset).toBe(jitterOffsetMs("nightly-backup", 600_000));
        expect(offset).not.toBe(jitterOffsetMs("nightly-report", 600_000));
        for (const hour of ["07", "08"]) {
          const fire = new Date(`2026-03-08T${hour}:00:00Z`);
          clock.set(fire);
          expect(await fw.tick()).toBe(1);
          const [job] = await fw.listJobs({ kind: "noop", state: "scheduled" });
          expect(job).toMatchObject({ scheduledAt: new Date(fire.getTime() + offset), uniqueKey: `periodic:nightly-backup@${fire.getTime() / 1000}` });
          expect(job!.metadata).toMatchObject({ fire_at: fire.toISOString() });
          expect((await fw.findPeriodic("nightly-backup")).nextRunAt).toEqual(new Date(fire.getTime() + 3_600_000));
          // Not claimable before its offset has passed.
          clock.set(new Date(fire.getTime() + offset - 1));
          expect(await fw.runUntilIdle()).toBe(0);
          clock.set(new Date(fire.getTime() + offset));
          expect(await fw.runUntilIdle()).toBe(1);
        }
        await expect(fw.upsertPeriodic({ slug: "j", kind: "noop", every: "10m", jitter: "10m" })).rejects.toThrow("jitter must be shorter than every");
        await fw.upsertPeriodic({ slug: "nightly-backup", kind: "noop", every: "1h" });
        expect((await fw.findPeriodic("nightly-backup")).jitterMs).toBeNull();
      });

      test("a new periodic does not fire at once; it fires at its next time", async () => {
        const fw = await setup(new Date("2026-03-08T06:00:30Z"));
        fw.register(noop);
        const p = await fw.upsertPeriodic({ slug: "minutely", kind: "noop", cron: "* * * * *" });
        expect(p.nextRunAt).toEqual(new Date("2026-03-08T06:01:00Z"));
        expect(p.queue).toBe("periodic");
        expect(await fw.tick()).toBe(0);
        clock.set(new Date("2026-03-08T06:01:00Z"));
        expect(await fw.tick()).toBe(1);
        const [job] = await fw.listJobs({ kind: "noop" });
        expect(job!.uniqueKey).toBe(`periodic:minutely@${Date.parse("2026-03-08T06:01:00Z") / 1000}`);
        expect(job!.queue).toBe("periodic");
        expect((await fw.findPeriodic("minutely")).nextRunAt).toEqual(new Date("2026-03-08T06:02:00Z"));
      });

      test("catch_up all enqueues the most recent `backfill` missed fires and counts the rest", async () => {
        const fw = await setup();
        await fw.upsertPeriodic({ slug: "every-minute", kind: "noop", every: "1m", overlap: "allow", backfill: 3 });
        clock.advance("10m");
        expect(await fw.tick()).toBe(3);
        const keys = (await fw.listJobs({ kind: "noop" })).map((j) => j.uniqueKey).sort();
        const unix = (iso: string) => Date.parse(iso) / 1000;
        expect(keys).toEqual([
          `periodic:every-minute@${unix("2026-03-08T06:08:00Z")}`,
          `periodic:every-minute@${unix("2026-03-08T06:09:00Z")}`,
          `periodic:every-minute@${unix("2026-03-08T06:10:00Z")}`,
        ]);
        const p = await fw.findPeriodic("every-minute");
        expect(p.skippedCount).toBe(7);
        expect(p.lastSkipReason).toBe("catch_up=all: missed fires beyond backfill=3 were dropped");
        expect(p.nextRunAt).toEqual(new Date("2026-03-08T06:11:00Z"));
      });

      test("catch_up latest enqueues one job for the most recent missed fire", async () => {
        const fw = await setup();
        await fw.upsertPeriodic({ slug: "l", kind: "noop", every: "1m", catchUp: "latest" });
        clock.advance("10m30s");
        expect(await fw.tick()).toBe(1);
        const [job] = await fw.listJobs({ kind: "noop" });
        expect(job!.metadata).toMatchObject({ periodic: "l", fire_at: "2026-03-08T06:10:00.000Z" });
        expect((await fw.findPeriodic("l")).skippedCount).toBe(9);
      });

      test("catch_up none drops fires older than the last tick and keeps a fresh one", async () => {
        const fw = await setup();
        await fw.upsertPeriodic({ slug: "n", kind: "noop", every: "1m", catchUp: "none" });
        clock.advance("10m30s");
        expect(await fw.tick()).toBe(0);
        expect((await fw.findPeriodic("n")).skippedCount).toBe(10);
        clock.set(new Date("2026-03-08T06:11:00.500Z"));
        expect(await fw.tick()).toBe(1);
      });

      test("overlap skip skips (and counts) a fire while the previous run is active; allow enqueues it", async () => {
        const fw = await setup();
        await fw.upsertPeriodic({ slug: "s", kind: "noop", every: "1m" });
        await fw.upsertPeriodic({ slug: "a", kind: "noop", every: "1m", overlap: "allow" });
        clock.advance("1m");
        expect(await fw.tick()).toBe(2);
        clock.advance("1m");
        expect(await fw.tick()).toBe(1);
        const s = await fw.findPeriodic("s");
        expect(s.skippedCount).toBe(1);
        expect(s.lastSkipReason).toBe(OVERLAP_SKIP_REASON);
        expect(s.lastSkippedAt).toEqual(clock.now());
        fw.register(noop);
        await fw.runUntilIdle();
        clock.advance("1m");
        expect(await fw.tick()).toBe(2);
      });

      test("two schedulers ticking at once enqueue each fire once", async () => {
        const fw = await setup();
        await fw.upsertPeriodic({ slug: "twice", kind: "noop", every: "1m", overlap: "allow" });
        clock.advance("1m");
        const [a, b] = await Promise.all([fw.scheduler().tick(), fw.scheduler().tick()]);
        expect(a + b).toBe(1);
        // A scheduler that read the periodic before the other advanced it loses the compare-and-set.
        const stale = await fw.findPeriodic("twice");
        const replay = await fw.driver.periodicFire({
          id: stale.id,
          expectedNextRunAt: new Date("2026-03-08T06:01:00Z"),
          nextRunAt: new Date("2026-03-08T06:02:00Z"),
          jobs: [fw.runtime.builder.build("noop", {}, { uniqueKey: `periodic:twice@${Date.parse("2026-03-08T06:01:00Z") / 1000}` }, clock.now())],
          skipped: 0,
          skipReason: null,
          now: clock.now(),
        });
        expect(replay.fired).toBe(false);
        expect((await fw.listJobs({ kind: "noop" })).length).toBe(1);
      });

      test("re-upserting an unchanged schedule keeps next_run_at; a changed one recomputes", async () => {
        const fw = await setup();
        const first = await fw.upsertPeriodic({ slug: "u", kind: "noop", cron: "0 * * * *" });
        expect(first.nextRunAt).toEqual(new Date("2026-03-08T07:00:00Z"));
        clock.advance("2h");
        const same = await fw.upsertPeriodic({ slug: "u", kind: "noop", cron: "0 * * * *", args: { changed: true } });
        expect(same.nextRunAt).toEqual(first.nextRunAt);
        expect(same.args).toEqual({ changed: true });
        expect(same.id).toBe(first.id);
        const changed = await fw.upsertPeriodic({ slug: "u", kind: "noop", cron: "30 * * * *" });
        expect(changed.nextRunAt).toEqual(new Date("2026-03-08T08:30:00Z"));
      });

      test.each([
        // [cron, timezone, upserted at, expected first three fires]: DST gaps run at the first valid time after; repeated hours run once.
        ["30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", ["2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"]],
        ["30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z", "2026-11-03T06:30:00Z"]],
        ["0 9 * * *", "Europe/Berlin", "2026-03-28T07:30:00Z", ["2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z"]],
        ["0 2 * * *", "Australia/Sydney", "2026-04-03T16:00:00Z", ["2026-04-04T15:00:00Z", "2026-04-05T16:00:00Z", "2026-04-06T16:00:00Z"]],
      ] as const)("DST: %s in %s fires at the right instants", async (cron, timezone, at, fires) => {
        const fw = await setup(new Date(at));
        await fw.upsertPeriodic({ slug: "dst", kind: "noop", cron, timezone, overlap: "allow" });
        const seen: string[] = [];
        for (const fire of fires) {
          const p = await fw.findPeriodic("dst");
          seen.push(p.nextRunAt.toISOString());
          clock.set(new Date(fire));
          expect(await fw.tick()).toBe(1);
        }
        expect(seen).toEqual(fires.map((f) => new Date(f).toISOString()));
      });

      test("triggerPeriodic, setPeriodicActive and deletePeriodic", async () => {
        const fw = await setup();
        await fw.upsertPeriodic({ slug: "t", kind: "noop", every: "1h" });
        const id = await fw.triggerPeriodic("t");
        expect((await fw.findJob(id)).uniqueActiveKey).toBe("periodic:t");
        await expect(fw.triggerPeriodic("t")).rejects.toBeInstanceOf(AlreadyEnqueuedError);
        await fw.setPeriodicActive("t", false);
        clock.advance("3h");
        expect(await fw.tick()).toBe(0);
        await fw.setPeriodicActive("t", true);
        expect((await fw.findPeriodic("t")).nextRunAt).toEqual(new Date("2026-03-08T10:00:00Z"));
        await fw.deletePeriodic("t");
        await expect(fw.findPeriodic("t")).rejects.toMatchObject({ code: "periodic_not_found" });
        await expect(fw.deletePeriodic("t")).rejects.toMatchObject({ code: "periodic_not_found" });
      });

      test("listPeriodicJobs: a schedule's fires and triggers, newest first, not another schedule's; after pages to the new ones", async () => {
        const fw = await setup();
        await fw.upsertPeriodic({ slug: "lp", kind: "noop", every: "1h", overlap: "allow" });
        await fw.upsertPeriodic({ slug: "lp-other", kind: "noop", every: "1h", overlap: "allow" });
        clock.advance("1h");
        expect(await fw.tick()).toBe(2);
        const fired = (await fw.listPeriodicJobs("lp")).map((j) => j.id);
        expect(fired).toHaveLength(1);
        const triggered = await fw.triggerPeriodic("lp");
        await fw.insert("noop", {});
        expect((await fw.listPeriodicJobs("lp")).map((j) => j.id)).toEqual([triggered, fired[0]!]);
        expect((await fw.listPeriodicJobs("lp", { limit: 1 })).map((j) => j.id)).toEqual([triggered]);
        expect((await fw.listPeriodicJobs("lp", { after: fired[0]! })).map((j) => j.id)).toEqual([triggered]);
        expect((await fw.listPeriodicJobs("lp-other")).map((j) => j.metadata.periodic)).toEqual(["lp-other"]);
        expect(await fw.listPeriodicJobs("nope")).toEqual([]);
      });

      test("deactivateMissingPeriodics deactivates only that source's periodics that left", async () => {
        const fw = await setup();
        await fw.upsertPeriodic({ slug: "keep", kind: "noop", every: "1h", source: "config" });
        await fw.upsertPeriodic({ slug: "gone", kind: "noop", every: "1h", source: "config" });
        await fw.upsertPeriodic({ slug: "api", kind: "noop", every: "1h" });
        expect(await fw.deactivateMissingPeriodics("config", ["keep"])).toEqual(["gone"]);
        const active = Object.fromEntries((await fw.listPeriodics()).map((p) => [p.slug, p.isActive]));
        expect(active).toEqual({ api: true, gone: false, keep: true });
      });

      test("invalid schedules are refused with a clear error", async () => {
        const fw = await setup();
        await expect(fw.upsertPeriodic({ slug: "x", kind: "noop", cron: "not a cron" })).rejects.toMatchObject({ code: "invalid_schedule" });
        await expect(fw.upsertPeriodic({ slug: "x", kind: "noop", cron: "* * * * *", every: "1m" })).rejects.toMatchObject({ code: "validation" });
        await expect(fw.upsertPeriodic({ slug: "x", kind: "noop", cron: "* * * * *", timezone: "Mars/Olympus" })).rejects.toMatchObject({ code: "invalid_schedule" });
        // A cron that never fires, and a 7-field cron whose year ends it, are refused; nothing is stored.
        await expect(fw.upsertPeriodic({ slug: "x", kind: "noop", cron: "0 0 30 2 *" })).rejects.toMatchObject({ code: "invalid_schedule" });
        await expect(fw.upsertPeriodic({ slug: "x", kind: "noop", cron: "0 0 0 1 1 * 2027" })).rejects.toMatchObject({ code: "invalid_schedule" });
        expect(await fw.listPeriodics()).toEqual([]);
      });

      test("a schedule records how its runs ended: last outcome, exit code, duration, the failure streak", async () => {
        const fw = await setup();
        let fail = true;
        fw.register(defineWorker({ kind: "flaky-report", work: () => (fail ? Promise.reject(new PermanentError("disk full")) : { output: { exit_code: 0 } }) }));
        await fw.upsertPeriodic({ slug: "report", kind: "flaky-report", every: "1m", overlap: "allow", maxAttempts: 1 });
        const finished: Array<{ succeeded: boolean; failuresBefore: number; failuresAfter: number }> = [];
        fw.events.on("schedule:finished", (e) => finished.push({ succeeded: e.succeeded, failuresBefore: e.failuresBefore, failuresAfter: e.failuresAfter }));
        for (const outcome of [false, false, true]) {
          fail = !outcome;
          clock.advance("1m");
          await fw.tick();
          const recorded = fw.events.once("schedule:finished");
          await fw.runUntilIdle();
          await recorded;
        }
        expect(finished).toEqual([
          { succeeded: false, failuresBefore: 0, failuresAfter: 1 },
          { succeeded: false, failuresBefore: 1, failuresAfter: 2 },
          { succeeded: true, failuresBefore: 2, failuresAfter: 0 },
        ]);
        const p = await fw.findPeriodic("report");
        expect(p).toMatchObject({ lastOutcome: "succeeded", lastExitCode: 0, consecutiveFailures: 0 });
        expect(p.lastSuccessAt).toEqual(clock.now());
        expect((await fw.findJob(p.lastJobId!)).metadata).toMatchObject({ periodic: "report" });
        await fw.setPeriodicActive("report", false);
        expect(await fw.findPeriodic("report")).toMatchObject({ isActive: false, pausedBy: "operator" });
      });

      test("one periodic that cannot fire records its error and never stops the others", async () => {
        const fw = await setup();
        const typed = defineWorker({ kind: "typed", args: v.object({ n: v.number() }), work: () => undefined });
        fw.register(typed);
        await fw.upsertPeriodic({ slug: "a-broken", kind: "typed", every: "1m", args: { n: 1 }, overlap: "allow" });
        await fw.upsertPeriodic({ slug: "b-fine", kind: "noop", every: "1m", overlap: "allow" });
        // The worker changes under the stored schedule: its args no longer pass.
        fw.register(defineWorker({ kind: "typed", args: v.object({ n: v.string() }), work: () => undefined }));
        const failed = fw.events.once("periodic:failed");
        clock.advance("1m");
        expect(await fw.tick()).toBe(1);
        expect((await failed).slug).toBe("a-broken");
        const broken = await fw.findPeriodic("a-broken");
        expect(broken.lastError).toContain("invalid args for typed at n");
        expect(broken.lastErrorAt).toEqual(clock.now());
        expect((await fw.findPeriodic("b-fine")).lastError).toBeNull();
        expect((await fw.listJobs({ kind: "noop" })).length).toBe(1);
        // Fixed: the next tick fires it, both its missed fires as it kept its place, and clears the error.
        fw.register(typed);
        clock.advance("1m");
        expect(await fw.tick()).toBe(3);
        expect((await fw.listJobs({ kind: "typed" })).length).toBe(2);
        expect((await fw.findPeriodic("a-broken")).lastError).toBeNull();
      });
    });

    describe("node", () => {
      test("aborting node.run stops claiming, waits for in-flight jobs, persists their outcomes, then resolves", async () => {
        const fw = await setup();
        const gates = new Map<number, ReturnType<typeof deferred<void>>>();
        const started: number[] = [];
        const twoStarted = deferred();
        fw.register(
          defineWorker({
            kind: "held",
            async work(job) {
              const n = (job.args as { n: number }).n;
              started.push(n);
              if (started.length === 2) twoStarted.resolve();
              const gate = deferred();
              gates.set(n, gate);
              await gate.promise;
              return { output: { n } };
            },
          }),
        );
        const ids = await fw.insertMany([0, 1, 2, 3].map((n) => ({ kind: "held", args: { n } })));
        const stop = new AbortController();
        const node = fw.node({ runners: [{ queues: ["default"], concurrency: 2, pollInterval: "10ms" }], scheduler: false });
        let resolved = false;
        const running = node.run(stop.signal).then(() => (resolved = true));
        await twoStarted.promise;
        const draining = fw.events.once("runner:draining");
        stop.abort();
        expect((await draining).inflight).toBe(2);
        expect(resolved).toBe(false);
        for (const gate of gates.values()) gate.resolve();
        await running;
        const states = await Promise.all(ids.map(async (id) => (await fw.findJob(id)).state));
        expect(states.filter((s) => s === "succeeded")).toHaveLength(2);
        expect(states.filter((s) => s === "available")).toHaveLength(2);
        expect(started).toHaveLength(2);
        for (const id of ids.filter((_, i) => states[i] === "succeeded")) {
          expect((await fw.listRuns(id)).map((r) => r.outcome)).toEqual(["success"]);
        }
      });

      test("prefetch: buffered jobs run in claim order, each exactly once", async () => {
        const fw = await setup();
        const order: number[] = [];
        fw.register(defineWorker({ kind: "rec", work: (job) => void order.push((job.args as { n: number }).n) }));
        await fw.insertMany([5, 3, 1, 4, 2].map((n) => ({ kind: "rec", args: { n }, options: { priority: n } })));
        expect(await fw.runUntilIdle({ concurrency: 1, prefetch: 10 })).toBe(5);
        expect(order).toEqual([1, 2, 3, 4, 5]);
      });

      test("prefetch: on shutdown, jobs that never started go back to the queue with their attempt refunded", async () => {
        const fw = await setup();
        const gate = deferred();
        const started = deferred();
        fw.register(defineWorker({ kind: "held", work: async () => (started.resolve(), await gate.promise) }));
        const ids = await fw.insertMany([0, 1, 2, 3].map((n) => ({ kind: "held", args: { n }, options: { priority: n } })));
        const stop = new AbortController();
        const running = fw.node({ runners: [{ queues: ["default"], concurrency: 1, prefetch: 5 }], scheduler: false }).run(stop.signal);
        await started.promise;
        stop.abort();
        gate.resolve();
        await running;
        expect((await fw.findJob(ids[0]!)).state).toBe("succeeded");
        for (const id of ids.slice(1)) {
          const job = await fw.findJob(id);
          expect(job).toMatchObject({ state: "available", attempt: 1, maxAttempts: 26, leaseToken: null });
          expect((await fw.listRuns(id)).map((r) => [r.outcome, r.errorMessage])).toEqual([["snooze", "jobs: released unstarted at shutdown"]]);
        }
        expect(await fw.runUntilIdle()).toBe(3);
        expect((await fw.listRuns(ids[3]!)).map((r) => r.outcome)).toEqual(["snooze", "success"]);
      });

      test("an insert wakes an idle node at once, not at the next poll", async () => {
        const fw = await setup();
        const ran = deferred<string>();
        fw.register(defineWorker({ kind: "ping", work: (job) => ran.resolve(job.id) }));
        const stop = new AbortController();
        const node = fw.node({ runners: [{ queues: ["default"], pollInterval: "1h" }], scheduler: false });
        const idle = fw.events.once("runner:idle");
        const running = node.run(stop.signal);
        await idle;
        const id = await fw.insert("ping", {});
        expect(await ran.promise).toBe(id);
        stop.abort();
        await running;
      });
    });
  });
}

/** A small deterministic PRNG (mulberry32): property tests replay the same sequence every run. */
function seeded(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}
