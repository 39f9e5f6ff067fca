import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { connect, defineWorker, FixedClock, type Flywheel, type JobRecord } from "flywheel";
import { AlertPolicy, AlertWatcher, lateStart, unfiredFire, type ScheduleAlerts } from "../../src/alerts/index.ts";
import { tempDir } from "../support/helpers.ts";

// Missed fires, driven by a fixed clock on a real SQLite file. Two clients on one file stand for two nodes:
// whichever looks, each missed fire alerts once.

const T0 = new Date("2026-03-02T10:00:00Z");
const HOUR = 3_600_000;
const GRACE = 60_000;

const alerts: ScheduleAlerts = {
  rules: [{ on: ["missed"], target: { type: "webhook", url: "http://127.0.0.1:9/hook", format: "json", headers: {} }, timeoutMs: 10_000 }],
  ping: null,
  graceMs: GRACE,
};
const policy = new AlertPolicy({ schedules: new Map([["hourly", alerts]]), defaults: [] });
const noop = defineWorker({ kind: "noop", work: () => {} });

describe("missed fires, seen by any node", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let clock: FixedClock;
  let a: Flywheel;
  let b: Flywheel;

  beforeEach(async () => {
    dir = await tempDir();
    clock = new FixedClock(T0);
    const url = `sqlite:${join(dir.path, "jobs.db")}`;
    a = await connect(url, { clock });
    await a.migrate();
    b = await connect(url, { clock });
    for (const fw of [a, b]) fw.register(noop);
    // Fires on the hour, at 11:00, 12:00 …; overlap allowed, so a waiting fire never hides the next.
    await a.upsertPeriodic({ slug: "hourly", kind: "noop", every: "1h", overlap: "allow", queue: "default" });
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    await dir.remove();
  });

  const missedAlerts = async () =>
    (await a.listJobs({ kind: "alert.webhook", limit: 100 }))
      .map((j) => ({ key: j.uniqueKey, body: JSON.parse((j.args as { body: string }).body) }))
      .sort((x, y) => String(x.key).localeCompare(String(y.key)));

  test("a fire no scheduler enqueued, then its waiting job, then its late start: one alert, whichever node looks", async () => {
    const watchers = [new AlertWatcher(a, { policy, host: "node-a" }), new AlertWatcher(b, { policy, host: "node-b" })];
    // 11:00 is due; within its grace nothing is missed yet.
    clock.set(new Date(T0.getTime() + HOUR + GRACE));
    expect(await watchers[0]!.checkMissed()).toBe(0);

    // Past the grace, with no scheduler run: missed, reported by the first node that looks, once.
    clock.advance("1s");
    expect(await watchers[0]!.checkMissed()).toBe(1);
    expect(await watchers[1]!.checkMissed()).toBe(0);
    expect(await watchers[0]!.checkMissed()).toBe(0);

    // A scheduler fires it at last; its job waits, then starts late: still the same missed fire.
    expect(await a.tick()).toBe(1);
    expect(await watchers[1]!.checkMissed()).toBe(0);
    watchers[0]!.start();
    await a.runUntilIdle({ queues: ["default"] });
    await watchers[0]!.stop();

    const found = await missedAlerts();
    expect(found).toHaveLength(1);
    expect(found[0]!.key).toMatch(new RegExp(`^alert:hourly:missed@${(T0.getTime() + HOUR) / 1000}:[0-9a-f]{12}$`));
    expect(found[0]!.body).toMatchObject({ event: "missed", reason: "not_fired", fire_at: "2026-03-02T11:00:00.000Z", grace_ms: GRACE, host: "node-a" });
  });

  test("a fired job still waiting past its grace, and a fired job started late, each alert once", async () => {
    const watcher = new AlertWatcher(b, { policy });
    // 11:00 fires on time, and nobody runs it.
    clock.set(new Date(T0.getTime() + HOUR));
    expect(await a.tick()).toBe(1);
    clock.advance(GRACE);
    expect(await watcher.checkMissed()).toBe(0);
    clock.advance("1s");
    expect(await watcher.checkMissed()).toBe(1);
    expect(await watcher.checkMissed()).toBe(0);

    // 12:00 fires on time; it starts 2 minutes late, between two looks: the late start itself is reported.
    clock.set(new Date(T0.getTime() + 2 * HOUR));
    expect(await a.tick()).toBe(1);
    clock.advance("2m");
    watcher.start();
    await b.runUntilIdle({ queues: ["default"] });
    await watcher.stop();
    expect(await watcher.checkMissed()).toBe(0);

    const found = (await missedAlerts()).map((f) => f.body);
    expect(found).toHaveLength(2);
    expect(found[0]).toMatchObject({ reason: "not_started", fire_at: "2026-03-02T11:00:00.000Z", state: "available" });
    expect(found[0]!.job_id).toBeString();
    expect(found[1]).toMatchObject({ reason: "started_late", fire_at: "2026-03-02T12:00:00.000Z", started_at: "2026-03-02T12:02:00.000Z" });
  });

  test("a paused schedule misses nothing; nor does one whose alerts do not fire on missed", async () => {
    const quiet = new AlertPolicy({ schedules: new Map([["hourly", { ...alerts, rules: [{ ...alerts.rules[0]!, on: ["failure"] }] }]]), defaults: [] });
    clock.set(new Date(T0.getTime() + 3 * HOUR));
    expect(await new AlertWatcher(a, { policy: quiet }).checkMissed()).toBe(0);
    await a.setPeriodicActive("hourly", false);
    expect(await new AlertWatcher(a, { policy }).checkMissed()).toBe(0);
  });
});

describe("the rules", () => {
  const periodic = { slug: "p", isActive: true, nextRunAt: new Date(T0.getTime()), lastError: null } as never;
  const job = (over: Partial<JobRecord> = {}): JobRecord =>
    ({
      id: "j1",
      state: "available",
      attempt: 0,
      scheduledAt: T0,
      createdAt: T0,
      metadata: { periodic: "p", fire_at: T0.toISOString() },
      ...over,
    }) as JobRecord;
  const at = (ms: number) => new Date(T0.getTime() + ms);

  test("a fire is unfired-missed only once its grace has fully passed", () => {
    expect(unfiredFire(periodic, at(GRACE), GRACE)).toBeNull();
    expect(unfiredFire(periodic, at(GRACE + 1), GRACE)).toMatchObject({ slug: "p", reason: "not_fired", fireAt: T0, job: null });
  });

  test("a job's deadline is grace after its fire, or after its scheduled time when that is later", () => {
    expect(lateStart(job(), GRACE, null, at(GRACE))).toBeNull();
    expect(lateStart(job(), GRACE, null, at(GRACE + 1))).toMatchObject({ reason: "not_started", fireAt: T0 });
    expect(lateStart(job(), GRACE, at(GRACE + 1), at(GRACE + 1))).toMatchObject({ reason: "started_late", startedAt: at(GRACE + 1) });
    // A fire delayed on purpose (a jittered one) counts from when it was meant to run.
    expect(lateStart(job({ scheduledAt: at(30_000) }), GRACE, null, at(GRACE + 1))).toBeNull();
    // A job no scheduled fire made (a manual trigger) has no fire time to miss.
    expect(lateStart(job({ metadata: { periodic: "p" } }), GRACE, null, at(HOUR))).toBeNull();
  });
});
