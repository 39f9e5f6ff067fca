import { expect, test } from "bun:test";
import { nextFire, parseCron } from "../../src/periodic/cron.ts";
import { planFires } from "../../src/periodic/planner.ts";

const at = (iso: string) => new Date(iso);

test("interval fires sit on multiples of the interval", () => {
  expect(nextFire({ intervalSeconds: 300 }, at("2026-01-01T00:07:13Z"))).toEqual(at("2026-01-01T00:10:00Z"));
  expect(nextFire({ intervalSeconds: 300 }, at("2026-01-01T00:10:00Z"))).toEqual(at("2026-01-01T00:15:00Z"));
});

test("cron accepts nicknames and six fields with seconds", () => {
  expect(nextFire({ cron: "@hourly", timezone: "UTC" }, at("2026-01-01T00:07:13Z"))).toEqual(at("2026-01-01T01:00:00Z"));
  expect(nextFire({ cron: "*/15 * * * * *", timezone: "UTC" }, at("2026-01-01T00:00:01Z"))).toEqual(at("2026-01-01T00:00:15Z"));
});

test("cron day-of-month and day-of-week combine with OR (Vixie)", () => {
  // The 13th (a Tuesday in Jan 2026) or any Friday: Fri 2 Jan comes first.
  expect(nextFire({ cron: "0 0 13 * 5", timezone: "UTC" }, at("2026-01-01T00:00:00Z"))).toEqual(at("2026-01-02T00:00:00Z"));
});

test("parseCron rejects garbage with the expression in the message", () => {
  expect(() => parseCron("61 * * * *", "UTC")).toThrow('invalid cron "61 * * * *"');
});

const base = { nextRunAt: at("2026-01-01T00:01:00Z"), now: at("2026-01-01T00:10:30Z"), tickMs: 2000 };
const every = { intervalSeconds: 60 };

test.each([
  ["all", 10, 10, 0],
  ["all", 3, 3, 7],
  ["all", 0, 0, 10],
  ["latest", 10, 1, 9],
  ["none", 10, 0, 10],
] as const)("catch_up=%s backfill=%d keeps %d fires and skips %d", (catchUp, backfill, kept, skipped) => {
  for (const spec of [every, { cron: "* * * * *", timezone: "UTC" }]) {
    const plan = planFires({ ...base, spec, catchUp, backfill });
    expect(plan.fires.length).toBe(kept);
    expect(plan.skipped).toBe(skipped);
    expect(plan.nextRunAt).toEqual(at("2026-01-01T00:11:00Z"));
    if (kept > 0) expect(plan.fires.at(-1)).toEqual(at("2026-01-01T00:10:00Z"));
  }
});

test("a long outage of a per-second schedule is planned without enumerating every fire", () => {
  const plan = planFires({ spec: { intervalSeconds: 1 }, nextRunAt: at("2025-01-01T00:00:00Z"), now: at("2026-01-01T00:00:00Z"), catchUp: "all", backfill: 5, tickMs: 1000 });
  expect(plan.fires).toHaveLength(5);
  expect(plan.skipped).toBe(365 * 86_400 + 1 - 5);
});
