import { expect, test } from "bun:test";
import { assertFiresAfter, nextFire, parseCron } from "../../src/periodic/cron.ts";
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

test("a 7-field cron (with a year) is refused; so is one that never fires", () => {
  expect(() => parseCron("0 0 0 1 1 * 2030", "UTC")).toThrow("expected 5 fields");
  expect(() => assertFiresAfter({ cron: "0 0 30 2 *", timezone: "UTC" }, at("2026-01-01T00:00:00Z"))).toThrow("never fires");
  expect(() => assertFiresAfter({ cron: "0 3 * * *", timezone: "UTC" }, at("2026-01-01T00:00:00Z"))).not.toThrow();
});

test("planning a minutely cron after a 60-day outage keeps the last fires and counts the rest", () => {
  const spec = { cron: "* * * * *", timezone: "UTC" };
  const nextRunAt = at("2026-01-01T00:00:00Z");
  const now = at("2026-03-02T00:00:30Z");
  const plan = planFires({ spec, nextRunAt, now, catchUp: "all", backfill: 10, tickMs: 1000 });
  expect(plan.fires.map((f) => f.toISOString())).toEqual(
    Array.from({ length: 10 }, (_, i) => new Date(Date.parse("2026-03-01T23:51:00Z") + i * 60_000).toISOString()),
  );
  const missed = 60 * 24 * 60 + 1;
  expect(plan.skipped).toBe(missed - 10);
  expect(plan.nextRunAt).toEqual(at("2026-03-02T00:01:00Z"));
});

test("an unevenly spaced cron's missed fires are counted exactly up to a thousand", () => {
  // Weekdays at 09:00 and 17:00: 2 fires a weekday, none at weekends.
  const spec = { cron: "0 9,17 * * 1-5", timezone: "UTC" };
  const plan = planFires({ spec, nextRunAt: at("2026-01-05T00:00:00Z"), now: at("2026-01-31T00:00:00Z"), catchUp: "latest", backfill: 10, tickMs: 1000 });
  expect(plan.fires).toEqual([at("2026-01-30T17:00:00Z")]);
  expect(plan.skipped).toBe(20 * 2 - 1);
});
