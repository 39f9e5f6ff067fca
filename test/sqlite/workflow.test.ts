import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { FlywheelError } from "../../src/core/errors.ts";
import type { WaitReason } from "../../src/core/types.ts";
import { CANCELLED_MESSAGE } from "../../src/driver/rules.ts";
import { CANCEL_DESCENDANTS_SQL } from "../../src/driver/sqlite/admin.ts";
import type { SqliteDriver } from "../../src/driver/sqlite/index.ts";
import { FAR_FUTURE, type ClaimedJob, type FinalizeItem, type JobInsertRow, type StepWrite } from "../../src/driver/types.ts";
import { explain } from "../support/sqlite-explain.ts";
import { T0, at, claimAt, jobRow, openTestDriver, successItem } from "../support/sqlite.ts";

// Workflow support in the SQLite driver (SPEC §17): waiting jobs, wake-ups through wake_seq, steps, events,
// cascading cancel. Every time is passed explicitly.

let driver: SqliteDriver;
let path: string;
let cleanup: (() => Promise<void>) | null = null;

afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

async function setup(): Promise<void> {
  const opened = await openTestDriver();
  driver = opened.driver;
  path = opened.path;
  cleanup = opened.cleanup;
}

async function insert(over: Partial<JobInsertRow> = {}): Promise<string> {
  const [outcome] = await driver.jobInsert({ jobs: [jobRow(over)] });
  return outcome!.id;
}

async function claim(id: string, now = T0): Promise<ClaimedJob> {
  const [job] = await driver.jobClaim(claimAt(now, { ids: [id], limit: 1 }));
  expect(job?.id).toBe(id);
  return job!;
}

const job = async (id: string) => (await driver.jobGet({ id }))!;

interface Wait {
  reason: WaitReason;
  wakeAt?: Date;
  names?: string[];
  /** Defaults to the `wake_seq` the claim saw. */
  seenWakeSeq?: number;
}

/** The finalize item of an attempt that suspends to wait, as the workflow runtime builds it. */
function suspendItem(claimed: ClaimedJob, finishedAt: Date, wait: Wait): FinalizeItem {
  const item = successItem(claimed, finishedAt);
  return {
    ...item,
    run: { ...item.run, outcome: "suspended" },
    job: {
      state: "waiting",
      scheduledAt: wait.wakeAt ?? FAR_FUTURE,
      maxAttemptsDelta: 1,
      wait: { reason: wait.reason, wakeAt: wait.wakeAt ?? null, names: wait.names ?? [], seenWakeSeq: wait.seenWakeSeq ?? claimed.wakeSeq },
    },
  };
}

/** Claims `id` at `now` and suspends the attempt right after. */
async function suspend(id: string, now: Date, wait: Wait): Promise<ClaimedJob> {
  const claimed = await claim(id, now);
  const [outcome] = await driver.jobFinalize({ items: [suspendItem(claimed, now, wait)], now });
  expect(outcome).toEqual({ applied: true, outcome: "suspended", children: [] });
  return claimed;
}

function step(over: Partial<StepWrite> = {}): StepWrite {
  const times = { wakeAt: null, startedAt: at(1_000), finishedAt: at(2_000) };
  return { key: "load", status: "completed", outputJson: '{"ok":true}', error: null, attempts: 1, runId: "run-1", ...times, ...over };
}

const emit = (jobId: string, name: string, now: Date, payload: unknown = null, ifAbsent = false) =>
  driver.eventEmit({ jobId, name, payloadJson: JSON.stringify(payload), now, ifAbsent });

test("jobInsert and follow-ups store root_job_id", async () => {
  await setup();
  const root = await insert();
  const child = await insert({ parentJobId: root, rootJobId: root });
  expect(await job(child)).toMatchObject({ parentJobId: root, rootJobId: root, wakeSeq: 0, waitReason: null, wakeAt: null });
  const claimed = await claim(child);
  const item = successItem(claimed, at(1_000));
  const grandchild = jobRow({ parentJobId: child, rootJobId: root });
  item.followUps = [grandchild];
  await driver.jobFinalize({ items: [item], now: at(1_000) });
  expect(await job(grandchild.id)).toMatchObject({ parentJobId: child, rootJobId: root });
});

test("a suspended attempt leaves the job waiting until its wake time; the claim then takes it and clears the wait", async () => {
  await setup();
  const id = await insert();
  const claimed = await suspend(id, T0, { reason: "sleep", wakeAt: at(60_000) });
  expect(await job(id)).toMatchObject({
    state: "waiting",
    scheduledAt: at(60_000),
    waitReason: "sleep",
    wakeAt: at(60_000),
    attempt: 1,
    maxAttempts: 26,
    leaseToken: null,
    leasedUntil: null,
    finalizedAt: null,
  });
  expect(await driver.runList({ jobId: id })).toMatchObject([{ id: claimed.runId, outcome: "suspended", finishedAt: T0 }]);
  expect(await driver.jobClaim(claimAt(at(59_999)))).toEqual([]);
  const [woken] = await driver.jobClaim(claimAt(at(60_000)));
  expect(woken).toMatchObject({ id, state: "running", attempt: 2, waitReason: null, wakeAt: null, wakeSeq: 0 });
  expect(await job(id)).toMatchObject({ state: "running", waitReason: null, wakeAt: null });
});

test("a wait without a deadline sits at FAR_FUTURE: no claim takes it", async () => {
  await setup();
  const id = await insert();
  await suspend(id, T0, { reason: "event", names: ["approval"] });
  expect(await job(id)).toMatchObject({ state: "waiting", scheduledAt: FAR_FUTURE, waitReason: "event", wakeAt: null });
  expect(await driver.jobClaim(claimAt(new Date("9000-01-01T00:00:00Z")))).toEqual([]);
});

test("an event emitted while the attempt ran makes its suspend available now instead of waiting", async () => {
  await setup();
  const id = await insert();
  const claimed = await claim(id);
  expect(await emit(id, "approval", at(1_000), { by: "ann" })).toEqual({ state: "running", stored: true, woke: false });
  const [outcome] = await driver.jobFinalize({ items: [suspendItem(claimed, at(2_000), { reason: "event", names: ["approval"] })], now: at(2_000) });
  expect(outcome).toEqual({ applied: true, outcome: "suspended", children: [] });
  expect(await job(id)).toMatchObject({ state: "available", scheduledAt: at(2_000), waitReason: null, wakeAt: null, wakeSeq: 1, maxAttempts: 26 });
  const [again] = await driver.jobClaim(claimAt(at(2_000)));
  expect(again).toMatchObject({ id, attempt: 2, wakeSeq: 1 });
});

test("a child that ends wakes its parent waiting for children and moves its wake_seq; other waits only see the move", async () => {
  await setup();
  const parent = await insert({ kind: "parent" });
  const sleeper = await insert({ kind: "sleeper" });
  await suspend(parent, T0, { reason: "children" });
  await suspend(sleeper, T0, { reason: "sleep", wakeAt: at(60_000) });
  const failing = await insert({ parentJobId: parent });
  const child = await insert({ parentJobId: parent });
  const sleepersChild = await insert({ parentJobId: sleeper });

  // A child that goes back to retryable has not ended.
  const f = await claim(failing, at(1_000));
  const retry: FinalizeItem = { ...successItem(f, at(2_000)), job: { state: "retryable", scheduledAt: at(5_000), maxAttemptsDelta: 0 } };
  await driver.jobFinalize({ items: [retry], now: at(2_000) });
  expect(await job(parent)).toMatchObject({ state: "waiting", wakeSeq: 0 });

  const c = await claim(child, at(3_000));
  const s = await claim(sleepersChild, at(3_000));
  await driver.jobFinalize({ items: [successItem(c, at(4_000)), successItem(s, at(4_000))], now: at(4_000) });
  expect(await job(parent)).toMatchObject({ state: "available", scheduledAt: at(4_000), waitReason: null, wakeAt: null, wakeSeq: 1 });
  expect(await job(sleeper)).toMatchObject({ state: "waiting", scheduledAt: at(60_000), waitReason: "sleep", wakeSeq: 1 });
});

test.each([
  ["the parent's suspend first", false],
  ["the child's end first", true],
] as const)("a child ending in the same batch as its parent's suspend leaves the parent available (%s)", async (_, childFirst) => {
  await setup();
  const parent = await insert({ kind: "parent" });
  const child = await insert({ parentJobId: parent, priority: 1 });
  const [c, p] = await driver.jobClaim(claimAt(T0, { limit: 2 }));
  expect([c!.id, p!.id]).toEqual([child, parent]);
  // The parent waits for an event, not its children: only the batch rule can wake it.
  const items = [suspendItem(p!, at(1_000), { reason: "event", names: ["x"] }), successItem(c!, at(1_000))];
  await driver.jobFinalize({ items: childFirst ? items.reverse() : items, now: at(1_000) });
  expect(await job(parent)).toMatchObject({ state: "available", scheduledAt: at(1_000), waitReason: null });
  expect(await job(child)).toMatchObject({ state: "succeeded" });
});

test("stepSave writes only while the job holds the attempt's lease token", async () => {
  await setup();
  const id = await insert();
  const claimed = await claim(id);
  expect(await driver.stepSave({ jobId: id, leaseToken: claimed.leaseToken!, step: step() })).toBe(true);
  expect(await driver.stepSave({ jobId: id, leaseToken: claimed.leaseToken!, step: step({ outputJson: JSON.stringify({ ok: false }), attempts: 2 }) })).toBe(
    true,
  );
  expect(await driver.stepSave({ jobId: id, leaseToken: "stale", step: step({ outputJson: JSON.stringify("lost") }) })).toBe(false);
  expect(await driver.stepSave({ jobId: id, leaseToken: "stale", step: step({ key: "other" }) })).toBe(false);
  expect((await driver.workflowLoad({ jobId: id })).steps).toEqual([
    { key: "load", status: "completed", output: { ok: false }, error: null, attempts: 2, runId: "run-1", wakeAt: null, startedAt: at(1_000), finishedAt: at(2_000) },
  ]);
  // Once the attempt is over its token is gone too.
  await driver.jobFinalize({ items: [successItem(claimed, at(3_000))], now: at(3_000) });
  expect(await driver.stepSave({ jobId: id, leaseToken: claimed.leaseToken!, step: step({ key: "late" }) })).toBe(false);
  expect(await driver.stepSave({ jobId: "no-such-job", leaseToken: claimed.leaseToken!, step: step() })).toBe(false);
});

test("workflowLoad returns the job's steps and events, decoded, and no other job's", async () => {
  await setup();
  const id = await insert();
  const other = await insert();
  const claimed = await claim(id);
  const otherClaimed = await claim(other);
  const sleeping = step({ key: "nap", status: "waiting", outputJson: null, wakeAt: at(90_000), finishedAt: null });
  for (const s of [step(), sleeping, step({ key: "boom", status: "failed", outputJson: null, error: "it broke", attempts: 3 })]) {
    expect(await driver.stepSave({ jobId: id, leaseToken: claimed.leaseToken!, step: s })).toBe(true);
  }
  await driver.stepSave({ jobId: other, leaseToken: otherClaimed.leaseToken!, step: step({ key: "elsewhere" }) });
  await emit(id, "approval", at(5_000), { by: "ann" });
  await driver.eventEmit({ jobId: id, name: "ping", payloadJson: null, now: at(6_000) });
  await emit(other, "approval", at(5_000));

  const loaded = await driver.workflowLoad({ jobId: id });
  expect(loaded.steps.sort((a, b) => a.key.localeCompare(b.key))).toEqual([
    { key: "boom", status: "failed", output: null, error: "it broke", attempts: 3, runId: "run-1", wakeAt: null, startedAt: at(1_000), finishedAt: at(2_000) },
    { key: "load", status: "completed", output: { ok: true }, error: null, attempts: 1, runId: "run-1", wakeAt: null, startedAt: at(1_000), finishedAt: at(2_000) },
    { key: "nap", status: "waiting", output: null, error: null, attempts: 1, runId: "run-1", wakeAt: at(90_000), startedAt: at(1_000), finishedAt: null },
  ]);
  expect(loaded.events.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
    { name: "approval", payload: { by: "ann" }, emittedAt: at(5_000) },
    { name: "ping", payload: null, emittedAt: at(6_000) },
  ]);
  // A null output is SQL NULL, not the JSON text "null".
  expect(driver.db.query("SELECT output FROM job_steps WHERE job_id = ? AND step_key = 'nap'").get(id)).toEqual({ output: null });
  expect(await driver.workflowLoad({ jobId: "no-such-job" })).toEqual({ steps: [], events: [] });
});

test("eventEmit stores the latch and moves wake_seq; a missing or finished job gets nothing; ifAbsent keeps the first", async () => {
  await setup();
  expect(await emit("no-such-job", "approval", T0)).toEqual({ state: null, stored: false, woke: false });
  const id = await insert();
  expect(await emit(id, "approval", at(1_000), { n: 1 })).toEqual({ state: "available", stored: true, woke: false });
  expect(await emit(id, "approval", at(2_000), { n: 2 })).toEqual({ state: "available", stored: true, woke: false });
  expect(await emit(id, "approval", at(3_000), { n: 3 }, true)).toEqual({ state: "available", stored: false, woke: false });
  expect((await driver.workflowLoad({ jobId: id })).events).toEqual([{ name: "approval", payload: { n: 2 }, emittedAt: at(2_000) }]);
  expect(await job(id)).toMatchObject({ state: "available", wakeSeq: 2 });
  expect(await emit(id, "first", at(3_000), { n: 1 }, true)).toEqual({ state: "available", stored: true, woke: false });

  const done = await insert();
  await driver.jobFinalize({ items: [successItem(await claim(done), at(1_000))], now: at(1_000) });
  expect(await emit(done, "approval", at(2_000))).toEqual({ state: "succeeded", stored: false, woke: false });
  expect(await driver.workflowLoad({ jobId: done })).toEqual({ steps: [], events: [] });
  expect(await job(done)).toMatchObject({ wakeSeq: 0 });
});

test("eventEmit wakes a job waiting for that name, now; another name only moves wake_seq", async () => {
  await setup();
  const id = await insert();
  await suspend(id, T0, { reason: "event", names: ["approval", "rejection"], wakeAt: at(86_400_000) });
  expect(await emit(id, "unrelated", at(1_000))).toEqual({ state: "waiting", stored: true, woke: false });
  expect(await job(id)).toMatchObject({ state: "waiting", wakeSeq: 1, scheduledAt: at(86_400_000) });
  expect(await emit(id, "rejection", at(2_000), { why: "no" })).toEqual({ state: "waiting", stored: true, woke: true });
  expect(await job(id)).toMatchObject({ state: "available", scheduledAt: at(2_000), waitReason: null, wakeAt: null, wakeSeq: 2 });
  expect(await emit(id, "approval", at(3_000))).toEqual({ state: "available", stored: true, woke: false });
});

test("only a wait of the job's current attempt wakes it: names an earlier attempt waited for are stale", async () => {
  await setup();
  const id = await insert();
  // Attempt 1 waits for "a" with a deadline, and times out.
  await suspend(id, T0, { reason: "event", names: ["a"], wakeAt: at(10_000) });
  // Attempt 2 waits for "b".
  await suspend(id, at(10_000), { reason: "event", names: ["b"] });
  expect(await job(id)).toMatchObject({ state: "waiting", attempt: 2 });
  expect(await emit(id, "a", at(11_000))).toEqual({ state: "waiting", stored: true, woke: false });
  expect(await job(id)).toMatchObject({ state: "waiting", scheduledAt: FAR_FUTURE });
  expect(await emit(id, "b", at(12_000))).toEqual({ state: "waiting", stored: true, woke: true });
  expect(await job(id)).toMatchObject({ state: "available", scheduledAt: at(12_000) });
});

test("eventEmitSync runs on the caller's transaction: it rolls back and commits with it", async () => {
  await setup();
  const id = await insert();
  await suspend(id, T0, { reason: "event", names: ["go"] });
  const app = new Database(path, { strict: true });
  try {
    class Rollback extends Error {}
    expect(() =>
      app.transaction(() => {
        expect(driver.eventEmitSync({ jobId: id, name: "go", payloadJson: "1", now: at(1_000), tx: app })).toEqual({ state: "waiting", stored: true, woke: true });
        throw new Rollback();
      })(),
    ).toThrow(Rollback);
    expect(await job(id)).toMatchObject({ state: "waiting", wakeSeq: 0 });
    expect((await driver.workflowLoad({ jobId: id })).events).toEqual([]);

    let result: Promise<unknown> | undefined;
    app.transaction(() => {
      result = driver.eventEmit({ jobId: id, name: "go", payloadJson: "2", now: at(2_000), tx: app });
    })();
    expect(await result).toEqual({ state: "waiting", stored: true, woke: true });
    expect(await job(id)).toMatchObject({ state: "available", scheduledAt: at(2_000), wakeSeq: 1 });
    expect((await driver.workflowLoad({ jobId: id })).events).toEqual([{ name: "go", payload: 2, emittedAt: at(2_000) }]);
  } finally {
    app.close(false);
  }
});

test("a cascading cancel cancels the unfinished subtree, closes its runs, leaves finished jobs alone and wakes the job's parent", async () => {
  await setup();
  const top = await insert({ kind: "top" });
  await suspend(top, T0, { reason: "children" });
  const root = await insert({ kind: "root", parentJobId: top });
  const waitingChild = await insert({ kind: "waiting-child", parentJobId: root });
  const doneChild = await insert({ kind: "done-child", parentJobId: root });
  const runningGrandchild = await insert({ kind: "running-grandchild", parentJobId: waitingChild });
  const orphanedGrandchild = await insert({ kind: "orphaned-grandchild", parentJobId: doneChild });
  const bystander = await insert({ kind: "bystander" });
  const rootAttempt = await claim(root, at(1_000));
  await suspend(waitingChild, at(1_000), { reason: "children" });
  await driver.jobFinalize({ items: [successItem(await claim(doneChild, at(1_000)), at(2_000))], now: at(2_000) });
  const grandchildAttempt = await claim(runningGrandchild, at(2_000));

  const result = await driver.jobCancel({ id: root, now: at(5_000), cascade: true });
  expect(result!.before).toMatchObject({ id: root, state: "running" });
  expect(result!.descendants.sort()).toEqual([waitingChild, runningGrandchild, orphanedGrandchild].sort());
  for (const id of [root, waitingChild, runningGrandchild, orphanedGrandchild]) {
    expect(await job(id)).toMatchObject({ state: "cancelled", finalizedAt: at(5_000), leaseToken: null, waitReason: null, wakeAt: null });
  }
  expect(await job(doneChild)).toMatchObject({ state: "succeeded", finalizedAt: at(2_000) });
  expect(await job(bystander)).toMatchObject({ state: "available" });
  for (const attempt of [rootAttempt, grandchildAttempt]) {
    expect(await driver.runList({ jobId: attempt.id })).toMatchObject([
      { id: attempt.runId, outcome: "cancelled", finishedAt: at(5_000), errorMessage: CANCELLED_MESSAGE },
    ]);
  }
  // The cancelled job's own parent was waiting for its children: it wakes now. Its descendants' parents were
  // cancelled with them, so the woken parent is the only one.
  expect(await job(top)).toMatchObject({ state: "available", scheduledAt: at(5_000), wakeSeq: 1 });
  expect(await driver.leaseListExpired({ now: at(600_000), limit: 10 })).toEqual([]);
});

test("a cancel without cascade leaves the descendants; a parent waiting for something else only sees wake_seq move", async () => {
  await setup();
  const parent = await insert({ kind: "parent" });
  await suspend(parent, T0, { reason: "sleep", wakeAt: at(60_000) });
  const id = await insert({ parentJobId: parent });
  const child = await insert({ parentJobId: id });
  expect(await driver.jobCancel({ id, now: at(1_000) })).toMatchObject({ before: { id, state: "available" }, descendants: [] });
  expect(await job(child)).toMatchObject({ state: "available" });
  expect(await job(parent)).toMatchObject({ state: "waiting", scheduledAt: at(60_000), wakeSeq: 1 });
  // A job already finished is left alone, and so is its subtree.
  expect(await driver.jobCancel({ id, now: at(2_000), cascade: true })).toMatchObject({ before: { state: "cancelled" }, descendants: [] });
  expect(await job(child)).toMatchObject({ state: "available" });
  expect(await job(parent)).toMatchObject({ wakeSeq: 1 });
  expect(await driver.jobCancel({ id: "no-such-job", now: at(2_000), cascade: true })).toBeNull();
});

test("the cascade walks jobs_parent, never the whole table", async () => {
  await setup();
  const plan = explain(driver.db, { sql: CANCEL_DESCENDANTS_SQL, params: ["x", 0] });
  expect(plan.match(/USING INDEX jobs_parent \(parent_job_id=\?\)/g)).toHaveLength(2);
  expect(plan).not.toMatch(/SCAN j(obs)?\b(?! USING)/);
});

test("retention deletes a finished job's steps, waits and events with it", async () => {
  await setup();
  const [gone, kept] = [await insert(), await insert()];
  for (const id of [gone, kept]) {
    await suspend(id, T0, { reason: "event", names: ["go"], wakeAt: at(1_000) });
    await emit(id, "go", at(500), { n: 1 });
    const claimed = await claim(id, at(1_000));
    await driver.stepSave({ jobId: id, leaseToken: claimed.leaseToken!, step: step() });
    if (id === gone) await driver.jobFinalize({ items: [successItem(claimed, at(2_000))], now: at(2_000) });
  }
  const count = (table: string, id: string) => (driver.db.query(`SELECT count(*) AS n FROM ${table} WHERE job_id = ?`).get(id) as { n: number }).n;
  expect(["job_steps", "job_waits", "job_events", "job_runs"].map((t) => count(t, gone))).toEqual([1, 1, 1, 2]);
  expect(await driver.jobDeleteFinished({ before: at(3_000), limit: 10 })).toBe(1);
  expect(["job_steps", "job_waits", "job_events", "job_runs"].map((t) => count(t, gone))).toEqual([0, 0, 0, 0]);
  expect(["job_steps", "job_waits", "job_events", "job_runs"].map((t) => count(t, kept))).toEqual([1, 1, 1, 2]);
  expect(await driver.jobGet({ id: gone })).toBeNull();
});

test("queueStatsGet: a waiting job is never scheduled ahead, and is ready once its wake time comes", async () => {
  await setup();
  await insert({ kind: "ready" });
  await insert({ kind: "later", state: "scheduled", scheduledAt: at(60_000) });
  for (const wait of [{ reason: "sleep", wakeAt: at(30_000) }, { reason: "event" }, { reason: "sleep", wakeAt: at(5_000) }] as Wait[]) {
    // Claimed by id: the claim would otherwise take the ready job first.
    await suspend(await insert({ kind: "workflow" }), T0, wait);
  }
  const stats = await driver.queueStatsGet({ now: at(10_000) });
  expect(stats.counts).toMatchObject({ available: 1, scheduled: 1, waiting: 3 });
  expect(stats.scheduledAhead).toBe(1);
  expect(stats.ready).toBe(2);
  expect(stats.oldestReadyAt).toEqual(T0);
});

test("workflow methods only let FlywheelErrors out", async () => {
  await setup();
  const id = await insert();
  const claimed = await claim(id);
  const refused = await driver.stepSave({ jobId: id, leaseToken: claimed.leaseToken!, step: step({ status: "bogus" as "completed" }) }).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(FlywheelError);
  expect(refused).toMatchObject({ code: "validation" });
  expect((refused as FlywheelError).message).toStartWith("jobs: ");
  expect(() => driver.eventEmitSync({ jobId: id, name: "x", payloadJson: null, now: T0, tx: {} as Database })).toThrow(FlywheelError);
  await driver.close();
  expect(await emit(id, "x", T0).catch((e: unknown) => e)).toMatchObject({ code: "closed" });
});
