import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { connect, defineWorker, FixedClock, type Flywheel } from "flywheel";
import { AlertPolicy, AlertWatcher, type ScheduleAlerts } from "../../src/alerts/index.ts";

// Missed fires, driven by a fixed clock on a real database. Two clients on one database stand for two nodes:
// whichever looks, each missed fire alerts once. Run on SQLite (missed.test.ts) and PostgreSQL (missed.pg.test.ts).

/** 10:00 UTC: the periodic is saved then, so it fires at 11:00, 12:00 … */
export const T0 = new Date("2026-03-02T10:00:00Z");
export const HOUR = 3_600_000;
export const GRACE = 60_000;

const alerts: ScheduleAlerts = {
  rules: [{ on: ["missed"], target: { type: "webhook", url: "http://127.0.0.1:9/hook", format: "json", headers: {} }, timeoutMs: 10_000 }],
  ping: null,
  graceMs: GRACE,
};
const policy = new AlertPolicy({ schedules: new Map([["hourly", alerts]]), defaults: [] });
const noop = defineWorker({ kind: "noop", work: () => {} });

/** A fresh database for one test: its connect URL, and how to remove it. */
export interface Target {
  url: string;
  remove(): Promise<void>;
}

/** The missed-fire cases on the database `open` makes for each test; skipped when `skip` (no database to run on). */
export function describeMissedFires(dialect: string, open: () => Promise<Target>, skip = false): void {
  describe.skipIf(skip)(`${dialect}: missed fires, seen by any node`, () => {
    let target: Target;
    let clock: FixedClock;
    let a: Flywheel;
    let b: Flywheel;

    beforeEach(async () => {
      target = await open();
      clock = new FixedClock(T0);
      a = await connect(target.url, { clock });
      await a.migrate();
      b = await connect(target.url, { clock });
      for (const fw of [a, b]) fw.register(noop);
      // Fires on the hour, at 11:00, 12:00 …; overlap allowed, so a waiting fire never hides the next.
      await a.upsertPeriodic({ slug: "hourly", kind: "noop", every: "1h", overlap: "allow", queue: "default" });
    });
    afterEach(async () => {
      await a.close();
      await b.close();
      await target.remove();
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
}
