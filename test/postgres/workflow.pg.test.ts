/**
 * The PostgreSQL driver's workflow support (SPEC §17): waiting jobs and how they wake (a suspend that raced an
 * event or a child's end, a child's end, an emit), steps, events, cascading cancel, retention and queue stats.
 * The driver is used directly on a throwaway schema; every instant is passed explicitly.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { FlywheelError } from "../../src/core/errors.ts";
import { PostgresDriver } from "../../src/driver/postgres/index.ts";
import { CANCELLED_MESSAGE } from "../../src/driver/rules.ts";
import { FAR_FUTURE, type StepWrite } from "../../src/driver/types.ts";
import { deferred, eventually } from "../support/helpers.ts";
import { adminSql, pgAvailable, throwawaySchema, type ThrowawaySchema } from "../support/postgres.ts";
import { claimJob, endItem, insertJob, jobRow, suspendItem } from "./fixtures/workflow-rows.ts";

const missing = !(await pgAvailable());
const T0 = new Date("2026-03-08T06:00:00Z");
const at = (ms: number) => new Date(T0.getTime() + ms);
const HOUR = 3_600_000;

/** The wait columns of a job that does not wait. */
const NOT_WAITING = { waitReason: null, wakeAt: null };

describe.skipIf(missing)("postgres: workflow support in the driver", () => {
  let schema: ThrowawaySchema;
  let driver: PostgresDriver;
  afterEach(async () => {
    await driver.close();
    await schema.drop();
  });

  async function fresh(): Promise<PostgresDriver> {
    schema = throwawaySchema();
    driver = PostgresDriver.open(schema.url, { max: 4 });
    await driver.schemaMigrate();
    return driver;
  }

  /** The job, which must exist. */
  async function job(id: string) {
    const record = await driver.jobGet({ id });
    if (!record) throw new Error(`no job ${id}`);
    return record;
  }

  /** `job_waits` rows of a job as `name@attempt`, by name. */
  async function waits(id: string): Promise<string[]> {
    const rows = await driver.sql.unsafe(`SELECT name, attempt FROM "${schema.name}".job_waits WHERE job_id = $1 ORDER BY name`, [id]);
    return rows.map((r) => `${r.name}@${r.attempt}`);
  }

  /** Listens on the schema's channel on a connection of its own; resolves once `LISTEN` is in place. */
  async function listen(): Promise<{ heard: string[]; stop(): Promise<void> }> {
    const sql = adminSql({ max: 1 });
    const heard: string[] = [];
    await sql.listen(`${schema.name}_jobs`, (queue) => heard.push(queue));
    return { heard, stop: () => sql.end({ timeout: 1 }) };
  }

  /** Whether a session of this test's database waits for a lock another session holds. */
  async function blockedOnLock(): Promise<boolean> {
    const [row] = await driver.sql.unsafe(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND cardinality(pg_blocking_pids(pid)) > 0",
    );
    return row!.n > 0;
  }

  /** A step as an attempt of `runId` writes it. */
  function step(key: string, runId: string, over: Partial<StepWrite> = {}): StepWrite {
    return { key, status: "completed", outputJson: null, error: null, attempts: 1, runId, wakeAt: null, startedAt: T0, finishedAt: at(10), ...over };
  }

  test("root_job_id is stored by single, batch and follow-up inserts", async () => {
    const d = await fresh();
    const root = await insertJob(d, T0);
    const single = await insertJob(d, T0, { parentJobId: root, rootJobId: root });
    const batch = [jobRow(T0, { rootJobId: root }), jobRow(T0)];
    await d.jobInsert({ jobs: batch });
    const parent = await claimJob(d, root, T0);
    const followUp = jobRow(at(5), { parentJobId: root, rootJobId: root });
    await d.jobFinalize({ items: [{ ...endItem(parent, at(5)), followUps: [followUp] }], now: at(5) });

    expect((await job(root)).rootJobId).toBeNull();
    expect((await job(single)).rootJobId).toBe(root);
    expect((await job(batch[0]!.id)).rootJobId).toBe(root);
    expect((await job(batch[1]!.id)).rootJobId).toBeNull();
    expect((await job(followUp.id)).rootJobId).toBe(root);
  });

  test("a suspending attempt leaves its job waiting until its wake time, when a claim takes it and clears the wait", async () => {
    const d = await fresh();
    const id = await insertJob(d, T0);
    const first = await claimJob(d, id, T0);
    expect(first.wakeSeq).toBe(0);

    const outcomes = await d.jobFinalize({ items: [suspendItem(first, at(100), { reason: "sleep", wakeAt: at(HOUR) })], now: at(100) });
    expect(outcomes).toEqual([{ applied: true, outcome: "suspended", children: [] }]);
    // The suspended attempt gives its attempt back; the job is not finalized, only waiting.
    expect(await job(id)).toMatchObject({
      state: "waiting",
      scheduledAt: at(HOUR),
      waitReason: "sleep",
      wakeAt: at(HOUR),
      attempt: 1,
      maxAttempts: 6,
      finalizedAt: null,
      leaseToken: null,
    });
    expect((await d.runList({ jobId: id })).map((r) => r.outcome)).toEqual(["suspended"]);

    const claim = { queues: ["default"], executorClasses: null, limit: 5, leaseToken: "t", executorId: "test" };
    expect(await d.jobClaim({ ...claim, now: at(HOUR - 1), leasedUntil: at(HOUR + 30_000) })).toEqual([]);
    const [woken] = await d.jobClaim({ ...claim, now: at(HOUR), leasedUntil: at(HOUR + 30_000) });
    expect(woken).toMatchObject({ id, state: "running", attempt: 2, wakeSeq: 0, ...NOT_WAITING });
    expect(await job(id)).toMatchObject({ state: "running", ...NOT_WAITING });
  });

  test("a job waiting with no deadline sits at FAR_FUTURE and its event names are recorded at its attempt", async () => {
    const d = await fresh();
    const id = await insertJob(d, T0);
    const attempt = await claimJob(d, id, T0);
    await d.jobFinalize({ items: [suspendItem(attempt, at(100), { reason: "event", names: ["approval", "rejection", "approval"] })], now: at(100) });
    expect(await job(id)).toMatchObject({ state: "waiting", scheduledAt: FAR_FUTURE, waitReason: "event", wakeAt: null });
    expect(await waits(id)).toEqual(["approval@1", "rejection@1"]);
  });

  test("a suspend that raced an event (wake_seq moved since the claim) makes the job available now instead", async () => {
    const d = await fresh();
    const id = await insertJob(d, T0);
    const attempt = await claimJob(d, id, T0);
    // The event arrives while the attempt runs, after it read its events.
    expect(await d.eventEmit({ jobId: id, name: "approval", payloadJson: '{"by":"ann"}', now: at(50) })).toEqual({ state: "running", stored: true, woke: false });
    expect((await job(id)).wakeSeq).toBe(1);

    const outcomes = await d.jobFinalize({ items: [suspendItem(attempt, at(100), { reason: "event", names: ["approval"] })], now: at(100) });
    expect(outcomes).toEqual([{ applied: true, outcome: "suspended", children: [] }]);
    expect(await job(id)).toMatchObject({ state: "available", scheduledAt: at(100), ...NOT_WAITING, maxAttempts: 6 });
    const [again] = await d.jobClaim({ queues: ["default"], executorClasses: null, limit: 1, now: at(100), leasedUntil: at(30_100), leaseToken: "t2", executorId: "test" });
    expect(again).toMatchObject({ id, attempt: 2, wakeSeq: 1 });
  });

  test("a child ending in the same batch as its parent suspends to join it makes the parent available now", async () => {
    const d = await fresh();
    const parentId = await insertJob(d, T0);
    const childId = await insertJob(d, T0, { parentJobId: parentId, rootJobId: parentId });
    const parent = await claimJob(d, parentId, T0);
    const child = await claimJob(d, childId, T0);

    const outcomes = await d.jobFinalize({ items: [suspendItem(parent, at(100), { reason: "children" }), endItem(child, at(100))], now: at(100) });
    expect(outcomes.map((o) => o.outcome)).toEqual(["suspended", "success"]);
    expect(await job(parentId)).toMatchObject({ state: "available", scheduledAt: at(100), ...NOT_WAITING });
    expect(await job(childId)).toMatchObject({ state: "succeeded", finalizedAt: at(100) });
  });

  test("a child of another parent ending in the batch leaves a suspending job waiting", async () => {
    const d = await fresh();
    const parentId = await insertJob(d, T0);
    const otherId = await insertJob(d, T0);
    const childId = await insertJob(d, T0, { parentJobId: otherId });
    const parent = await claimJob(d, parentId, T0);
    const child = await claimJob(d, childId, T0);
    await d.jobFinalize({ items: [suspendItem(parent, at(100), { reason: "children" }), endItem(child, at(100))], now: at(100) });
    expect(await job(parentId)).toMatchObject({ state: "waiting", waitReason: "children", scheduledAt: FAR_FUTURE });
    expect((await job(otherId)).wakeSeq).toBe(1);
  });

  test("a child's end wakes its parent waiting for children and moves its wake_seq; other waits only see wake_seq move", async () => {
    const d = await fresh();
    const joining = await insertJob(d, T0, { queue: "flows" });
    const sleeping = await insertJob(d, T0);
    const kids = [await insertJob(d, T0, { parentJobId: joining }), await insertJob(d, T0, { parentJobId: sleeping })];
    await d.jobFinalize({
      items: [
        suspendItem(await claimJob(d, joining, T0), at(10), { reason: "children" }),
        suspendItem(await claimJob(d, sleeping, T0), at(10), { reason: "sleep", wakeAt: at(HOUR) }),
      ],
      now: at(10),
    });
    const claimed = [await claimJob(d, kids[0]!, at(20)), await claimJob(d, kids[1]!, at(20))];

    const listener = await listen();
    try {
      // A discarded child ends too; a sweep or a failure ends a child as much as a success.
      await d.jobFinalize({ items: [endItem(claimed[0]!, at(500), "discarded"), endItem(claimed[1]!, at(500))], now: at(500) });
      expect(await job(joining)).toMatchObject({ state: "available", scheduledAt: at(500), wakeSeq: 1, ...NOT_WAITING, updatedAt: at(500) });
      expect(await job(sleeping)).toMatchObject({ state: "waiting", scheduledAt: at(HOUR), waitReason: "sleep", wakeAt: at(HOUR), wakeSeq: 1 });
      await eventually("the woken parent's queue to be notified", () => listener.heard.includes("flows"));
    } finally {
      await listener.stop();
    }
  });

  test("finalize-and-claim wakes a waiting parent, and claims a parent whose child ends in the same statement", async () => {
    const d = await fresh();
    const waiting = await insertJob(d, T0, { queue: "flows" });
    const ready = await insertJob(d, T0, { queue: "flows" });
    const kids = [await insertJob(d, T0, { parentJobId: waiting }), await insertJob(d, T0, { parentJobId: ready })];
    await d.jobFinalize({ items: [suspendItem(await claimJob(d, waiting, T0), at(10), { reason: "children" })], now: at(10) });
    const claimed = [await claimJob(d, kids[0]!, at(20)), await claimJob(d, kids[1]!, at(20))];

    const { outcomes, jobs } = await d.jobFinalizeAndClaim({
      items: claimed.map((c) => endItem(c, at(500))),
      claim: { queues: ["flows"], executorClasses: null, limit: 5, now: at(500), leasedUntil: at(30_500), leaseToken: "t", executorId: "test" },
    });
    expect(outcomes.map((o) => o.applied)).toEqual([true, true]);
    // The claim reads the rows as they were before this statement: the available parent, not the one it wakes.
    expect(jobs.map((j) => j.id)).toEqual([ready]);
    expect(await job(ready)).toMatchObject({ state: "running", attempt: 1, wakeSeq: 0 });
    expect(await job(waiting)).toMatchObject({ state: "available", scheduledAt: at(500), wakeSeq: 1, ...NOT_WAITING });
  });

  test("stepSave writes only while the attempt holds its lease, and replaces the step's row", async () => {
    const d = await fresh();
    const id = await insertJob(d, T0);
    const attempt = await claimJob(d, id, T0);
    expect(await d.stepSave({ jobId: id, leaseToken: attempt.leaseToken!, step: step("load", attempt.runId, { status: "started", finishedAt: null }) })).toBe(true);
    expect(await d.stepSave({ jobId: id, leaseToken: attempt.leaseToken!, step: step("load", attempt.runId, { outputJson: '{"n":1}', attempts: 2 }) })).toBe(true);
    expect(await d.stepSave({ jobId: id, leaseToken: "stale", step: step("other", attempt.runId) })).toBe(false);
    expect(await d.stepSave({ jobId: "missing", leaseToken: attempt.leaseToken!, step: step("other", attempt.runId) })).toBe(false);
    await d.jobFinalize({ items: [endItem(attempt, at(100))], now: at(100) });
    // A finalized attempt no longer holds the lease either.
    expect(await d.stepSave({ jobId: id, leaseToken: attempt.leaseToken!, step: step("late", attempt.runId) })).toBe(false);

    const { steps } = await d.workflowLoad({ jobId: id });
    expect(steps).toEqual([
      { key: "load", status: "completed", output: { n: 1 }, error: null, attempts: 2, runId: attempt.runId, wakeAt: null, startedAt: T0, finishedAt: at(10) },
    ]);
  });

  test("workflowLoad returns the job's steps and events, decoded, and nothing of other jobs", async () => {
    const d = await fresh();
    const id = await insertJob(d, T0);
    const other = await insertJob(d, T0);
    const attempt = await claimJob(d, id, T0);
    const token = attempt.leaseToken!;
    await d.stepSave({ jobId: id, leaseToken: token, step: step("a", attempt.runId, { outputJson: '[1,"two",{"three":3}]' }) });
    await d.stepSave({ jobId: id, leaseToken: token, step: step("nap", attempt.runId, { status: "waiting", wakeAt: at(HOUR), finishedAt: null }) });
    await d.stepSave({ jobId: id, leaseToken: token, step: step("bad", attempt.runId, { status: "failed", error: "boom", attempts: 3 }) });
    await d.eventEmit({ jobId: id, name: "approval", payloadJson: '{"by":"ann"}', now: at(5) });
    await d.eventEmit({ jobId: id, name: "ping", payloadJson: null, now: at(6) });
    await d.eventEmit({ jobId: other, name: "approval", payloadJson: '"not yours"', now: at(7) });

    const loaded = await d.workflowLoad({ jobId: id });
    const byKey = Object.fromEntries(loaded.steps.map((s) => [s.key, s]));
    expect(Object.keys(byKey).sort()).toEqual(["a", "bad", "nap"]);
    expect(byKey.a).toMatchObject({ status: "completed", output: [1, "two", { three: 3 }], startedAt: T0, finishedAt: at(10) });
    expect(byKey.nap).toMatchObject({ status: "waiting", output: null, wakeAt: at(HOUR), finishedAt: null });
    expect(byKey.bad).toMatchObject({ status: "failed", error: "boom", attempts: 3 });
    expect(loaded.events.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: "approval", payload: { by: "ann" }, emittedAt: at(5) },
      { name: "ping", payload: null, emittedAt: at(6) },
    ]);
    expect(await d.workflowLoad({ jobId: "missing" })).toEqual({ steps: [], events: [] });
  });

  test("eventEmit stores latches, wakes only a job waiting for that name, and leaves terminal and missing jobs alone", async () => {
    const d = await fresh();
    const id = await insertJob(d, T0, { queue: "flows" });
    await d.jobFinalize({ items: [suspendItem(await claimJob(d, id, T0), at(10), { reason: "event", names: ["approval"] })], now: at(10) });

    expect(await d.eventEmit({ jobId: id, name: "other", payloadJson: "1", now: at(20) })).toEqual({ state: "waiting", stored: true, woke: false });
    expect(await job(id)).toMatchObject({ state: "waiting", wakeSeq: 1, waitReason: "event" });
    const listener = await listen();
    try {
      expect(await d.eventEmit({ jobId: id, name: "approval", payloadJson: '{"v":1}', now: at(30) })).toEqual({ state: "waiting", stored: true, woke: true });
      await eventually("the woken job's queue to be notified", () => listener.heard.includes("flows"));
    } finally {
      await listener.stop();
    }
    expect(await job(id)).toMatchObject({ state: "available", scheduledAt: at(30), wakeSeq: 2, ...NOT_WAITING });

    // Emitting again overwrites the latch; `ifAbsent` keeps it.
    expect(await d.eventEmit({ jobId: id, name: "approval", payloadJson: '{"v":2}', now: at(40) })).toEqual({ state: "available", stored: true, woke: false });
    expect(await d.eventEmit({ jobId: id, name: "approval", payloadJson: '{"v":3}', now: at(50), ifAbsent: true })).toEqual({ state: "available", stored: false, woke: false });
    expect(await d.eventEmit({ jobId: id, name: "fresh", payloadJson: '"first"', now: at(60), ifAbsent: true })).toEqual({ state: "available", stored: true, woke: false });
    expect((await job(id)).wakeSeq).toBe(4);
    const events = Object.fromEntries((await d.workflowLoad({ jobId: id })).events.map((e) => [e.name, e]));
    expect(events.approval).toEqual({ name: "approval", payload: { v: 2 }, emittedAt: at(40) });
    expect(events.fresh!.payload).toBe("first");

    const attempt = await claimJob(d, id, at(70));
    await d.jobFinalize({ items: [endItem(attempt, at(80))], now: at(80) });
    expect(await d.eventEmit({ jobId: id, name: "late", payloadJson: "1", now: at(90) })).toEqual({ state: "succeeded", stored: false, woke: false });
    expect((await job(id)).wakeSeq).toBe(4);
    expect(await d.eventEmit({ jobId: "missing", name: "x", payloadJson: "1", now: at(90) })).toEqual({ state: null, stored: false, woke: false });
    expect((await d.workflowLoad({ jobId: id })).events.map((e) => e.name).sort()).toEqual(["approval", "fresh", "other"]);
  });

  test("only a wait of the job's current attempt wakes it: names an earlier wait left behind do not", async () => {
    const d = await fresh();
    const id = await insertJob(d, T0);
    await d.jobFinalize({ items: [suspendItem(await claimJob(d, id, T0), at(10), { reason: "event", names: ["a"] })], now: at(10) });
    expect((await d.eventEmit({ jobId: id, name: "a", payloadJson: "1", now: at(20) })).woke).toBe(true);
    // Attempt 2 consumed `a` and now waits for `b` only; the row for `a` stays, at attempt 1.
    await d.jobFinalize({ items: [suspendItem(await claimJob(d, id, at(30)), at(40), { reason: "event", names: ["b"] })], now: at(40) });
    expect(await waits(id)).toEqual(["a@1", "b@2"]);

    expect(await d.eventEmit({ jobId: id, name: "a", payloadJson: "2", now: at(50) })).toEqual({ state: "waiting", stored: true, woke: false });
    expect(await job(id)).toMatchObject({ state: "waiting", waitReason: "event" });
    expect(await d.eventEmit({ jobId: id, name: "b", payloadJson: "3", now: at(60) })).toEqual({ state: "waiting", stored: true, woke: true });
    expect(await job(id)).toMatchObject({ state: "available", scheduledAt: at(60) });
  });

  test("an emit that waited on the lock of a suspend committing meanwhile still wakes the job", async () => {
    const d = await fresh();
    const id = await insertJob(d, T0);
    const attempt = await claimJob(d, id, T0);
    const suspend = deferred();
    const suspending = d.sql.begin(async (tx) => {
      // What a suspending finalize writes, held open: the job waits for `go` at attempt 1.
      await tx.unsafe(
        `UPDATE "${schema.name}".jobs SET state = 'waiting', wait_reason = 'event', scheduled_at = $2, lease_token = NULL WHERE id = $1`,
        [id, FAR_FUTURE],
      );
      await tx.unsafe(`INSERT INTO "${schema.name}".job_waits (job_id, name, attempt) VALUES ($1, 'go', $2)`, [id, attempt.attempt]);
      await suspend.promise;
    });
    const emitted = d.eventEmit({ jobId: id, name: "go", payloadJson: "1", now: at(50) });
    await eventually("the emit to wait for the suspend's row lock", blockedOnLock);
    suspend.resolve();
    await suspending;
    expect(await emitted).toEqual({ state: "waiting", stored: true, woke: true });
    expect(await job(id)).toMatchObject({ state: "available", scheduledAt: at(50), wakeSeq: 1, ...NOT_WAITING });
  });

  test("a suspend that waited on the lock of an emit committing meanwhile makes the job available", async () => {
    const d = await fresh();
    const id = await insertJob(d, T0);
    const attempt = await claimJob(d, id, T0);
    const emit = deferred();
    const emitted = deferred();
    const emitting = d.sql.begin(async (tx) => {
      expect(await d.eventEmit({ jobId: id, name: "go", payloadJson: "1", now: at(50), tx })).toEqual({ state: "running", stored: true, woke: false });
      emitted.resolve();
      await emit.promise;
    });
    // The emit holds the row before the finalize is sent: the finalize runs on the job lane, its own connections.
    await emitted.promise;
    const finalized = d.jobFinalize({ items: [suspendItem(attempt, at(60), { reason: "event", names: ["go"] })], now: at(60) });
    await eventually("the finalize to wait for the emit's row lock", blockedOnLock);
    emit.resolve();
    await emitting;
    expect(await finalized).toEqual([{ applied: true, outcome: "suspended", children: [] }]);
    expect(await job(id)).toMatchObject({ state: "available", scheduledAt: at(60), wakeSeq: 1, ...NOT_WAITING });
  });

  test("eventEmit on the caller's transaction stores the latch only if that transaction commits", async () => {
    const d = await fresh();
    const id = await insertJob(d, T0);
    await d.sql
      .begin(async (tx) => {
        expect((await d.eventEmit({ jobId: id, name: "rolled-back", payloadJson: "1", now: at(10), tx })).stored).toBe(true);
        throw new Error("roll back");
      })
      .catch(() => {});
    await d.sql.begin((tx) => d.eventEmit({ jobId: id, name: "committed", payloadJson: "2", now: at(20), tx }));
    expect((await d.workflowLoad({ jobId: id })).events.map((e) => e.name)).toEqual(["committed"]);
    expect((await job(id)).wakeSeq).toBe(1);
  });

  test("cancel with cascade cancels the unfinished subtree and closes its runs, and wakes the cancelled job's waiting parent", async () => {
    const d = await fresh();
    const top = await insertJob(d, T0);
    const root = await insertJob(d, T0, { parentJobId: top });
    const running = await insertJob(d, T0, { parentJobId: root });
    const done = await insertJob(d, T0, { parentJobId: root });
    const underRunning = await insertJob(d, T0, { parentJobId: running });
    const underDone = await insertJob(d, T0, { parentJobId: done });
    const bystander = await insertJob(d, T0);
    await d.jobFinalize({ items: [endItem(await claimJob(d, done, T0), at(10))], now: at(10) });
    await d.jobFinalize({
      items: [
        suspendItem(await claimJob(d, top, T0), at(10), { reason: "children" }),
        suspendItem(await claimJob(d, root, T0), at(10), { reason: "children" }),
      ],
      now: at(10),
    });
    const attempt = await claimJob(d, running, at(20));

    const cancelled = await d.jobCancel({ id: root, now: at(1_000), cascade: true });
    expect(cancelled!.before).toMatchObject({ id: root, state: "waiting" });
    expect(cancelled!.descendants).toEqual([running, underRunning, underDone].sort());
    for (const id of [root, running, underRunning, underDone]) {
      expect(await job(id)).toMatchObject({ state: "cancelled", finalizedAt: at(1_000), leaseToken: null, ...NOT_WAITING });
    }
    expect(await job(done)).toMatchObject({ state: "succeeded", finalizedAt: at(10) });
    expect((await job(bystander)).state).toBe("available");
    expect(await d.runList({ jobId: running })).toEqual([
      expect.objectContaining({ id: attempt.runId, outcome: "cancelled", finishedAt: at(1_000), errorMessage: CANCELLED_MESSAGE }),
    ]);
    // The cancelled job's parent learns of its end; nobody inside the subtree is woken.
    expect(await job(top)).toMatchObject({ state: "available", scheduledAt: at(1_000), wakeSeq: 1, ...NOT_WAITING });

    // The runner of the cancelled descendant loses its fence; its late result fills in the closed run.
    expect(await d.jobFinalize({ items: [endItem(attempt, at(2_000))], now: at(2_000) })).toEqual([{ applied: false, outcome: "cancelled", children: [] }]);
  });

  test("cancel without cascade leaves the children; a terminal job is left alone with its subtree", async () => {
    const d = await fresh();
    const parent = await insertJob(d, T0);
    const child = await insertJob(d, T0, { parentJobId: parent });
    expect(await d.jobCancel({ id: parent, now: at(10) })).toEqual({ before: expect.objectContaining({ id: parent, state: "available" }), descendants: [] });
    expect((await job(child)).state).toBe("available");

    const again = await d.jobCancel({ id: parent, now: at(20), cascade: true });
    expect(again).toEqual({ before: expect.objectContaining({ state: "cancelled", finalizedAt: at(10) }), descendants: [] });
    expect((await job(child)).state).toBe("available");
    expect(await d.jobCancel({ id: "missing", now: at(20), cascade: true })).toBeNull();
  });

  test("retention deletes the steps, waits and events of the jobs it deletes, and only theirs", async () => {
    const d = await fresh();
    const [old, kept] = [await insertJob(d, T0), await insertJob(d, T0)];
    for (const id of [old, kept]) {
      const attempt = await claimJob(d, id, T0);
      await d.stepSave({ jobId: id, leaseToken: attempt.leaseToken!, step: step("s", attempt.runId) });
      await d.eventEmit({ jobId: id, name: "e", payloadJson: "1", now: at(5) });
      await d.jobFinalize({ items: [suspendItem(attempt, at(10), { reason: "event", names: ["w"] })], now: at(10) });
    }
    await d.jobCancel({ id: old, now: at(20) });
    expect(await d.jobDeleteFinished({ before: at(HOUR), limit: 10 })).toBe(1);

    const count = async (table: string, id: string) =>
      (await driver.sql.unsafe(`SELECT count(*)::int AS n FROM "${schema.name}".${table} WHERE job_id = $1`, [id]))[0]!.n as number;
    for (const table of ["job_steps", "job_waits", "job_events", "job_runs"]) {
      expect([table, await count(table, old)]).toEqual([table, 0]);
      expect([table, await count(table, kept)]).toEqual([table, 1]);
    }
  });

  test("queueStatsGet leaves waiting jobs out of scheduled-ahead, and counts a due one as ready", async () => {
    const d = await fresh();
    const [sleeping, eventless, due] = [await insertJob(d, T0), await insertJob(d, T0), await insertJob(d, T0)];
    await d.jobFinalize({
      items: [
        suspendItem(await claimJob(d, sleeping, T0), at(10), { reason: "sleep", wakeAt: at(HOUR) }),
        suspendItem(await claimJob(d, eventless, T0), at(10), { reason: "event", names: ["x"] }),
        suspendItem(await claimJob(d, due, T0), at(10), { reason: "sleep", wakeAt: at(60_000) }),
      ],
      now: at(10),
    });
    await insertJob(d, T0, { state: "scheduled", scheduledAt: at(HOUR) });

    const before = await d.queueStatsGet({ now: at(30_000) });
    expect(before).toMatchObject({ ready: 0, scheduledAhead: 1, oldestReadyAt: null });
    expect(before.counts).toMatchObject({ waiting: 3, scheduled: 1 });
    const after = await d.queueStatsGet({ now: at(120_000), queues: ["default"] });
    expect(after).toMatchObject({ ready: 1, scheduledAhead: 1, oldestReadyAt: at(60_000) });
  });

  test("errors of the workflow methods leave the driver as FlywheelErrors", async () => {
    const d = await fresh();
    const id = await insertJob(d, T0);
    const attempt = await claimJob(d, id, T0);
    const refused = async (run: () => Promise<unknown>) => {
      try {
        await run();
      } catch (error) {
        return error;
      }
      throw new Error("expected a refusal");
    };

    const badStatus = await refused(() => d.stepSave({ jobId: id, leaseToken: attempt.leaseToken!, step: step("s", attempt.runId, { status: "bogus" as never }) }));
    expect(badStatus).toBeInstanceOf(FlywheelError);
    expect(badStatus).toMatchObject({ code: "conflict", message: expect.stringMatching(/^jobs: stepSave: .*job_steps_status_check/) });

    const nul = await refused(() => d.stepSave({ jobId: id, leaseToken: attempt.leaseToken!, step: step("s", attempt.runId, { outputJson: '"a\\u0000b"' }) }));
    expect(nul).toMatchObject({ code: "validation", path: "s" });
    const badPayload = await refused(() => d.eventEmit({ jobId: id, name: "e", payloadJson: '"\\ud800"', now: at(5) }));
    expect(badPayload).toMatchObject({ code: "validation", path: "e" });
    const notJson = await refused(() => d.eventEmit({ jobId: id, name: "e", payloadJson: "{nope", now: at(5) }));
    expect(notJson).toMatchObject({ code: "validation", message: expect.stringMatching(/^flywheel: eventEmit: /) });

    await d.close();
    expect(await refused(() => d.workflowLoad({ jobId: id }))).toMatchObject({ code: "closed" });
  });
});
