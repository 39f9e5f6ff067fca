import { expect, test } from "bun:test";
import { AlertPolicy, type AlertRule, type ScheduleAlerts } from "../../src/alerts/index.ts";
import { isConfigSource } from "../../src/periodic/source.ts";

const rule = (on: AlertRule["on"], url: string): AlertRule => ({ on, target: { type: "webhook", url, format: "json", headers: {} }, timeoutMs: 10_000 });
const own: ScheduleAlerts = { rules: [rule(["missed"], "https://own.example.com")], ping: null, graceMs: 1_000 };
const pinged: ScheduleAlerts = { rules: [], ping: "https://hc-ping.com/abc", graceMs: 300_000 };
const silent: ScheduleAlerts = { rules: [], ping: null, graceMs: 300_000 };
const top = [rule(["failure", "skipped"], "https://top.example.com")];

// As the daemon builds it: its config's schedules by slug, the top-level alerts for the CLI's and the library's.
const policy = new AlertPolicy({
  schedules: new Map([
    ["own", own],
    ["pinged", pinged],
    ["silent", silent],
  ]),
  defaults: top,
  adopts: (source) => !isConfigSource(source),
});

test("a config's schedule has its own alerts; the CLI's and the library's the top-level ones; another config's none", () => {
  expect(policy.for({ slug: "own", source: "config:web1:/etc/flywheel.yaml" })).toBe(own);
  expect(policy.for({ slug: "pinged", source: "config:web1:/etc/flywheel.yaml" })).toBe(pinged);
  expect(policy.for({ slug: "silent", source: "config:web1:/etc/flywheel.yaml" })).toBeNull();
  expect(policy.for({ slug: "added", source: "cli" })).toEqual({ rules: top, ping: null, graceMs: 300_000 });
  expect(policy.for({ slug: "library", source: "api" })?.rules).toEqual(top);
  expect(policy.for({ slug: "theirs", source: "config:web2:/etc/flywheel.yaml" })).toBeNull();
});

test("what it watches: events, pings and the shortest grace of a missed alert", () => {
  expect(["failure", "recovery", "missed", "skipped"].filter((e) => policy.watches(e as never))).toEqual(["failure", "missed", "skipped"]);
  expect([policy.mayPing("pinged"), policy.mayPing("own"), policy.mayPing("added")]).toEqual([true, false, false]);
  expect(policy.shortestGraceMs()).toBe(1_000);
  const none = new AlertPolicy({ schedules: new Map(), defaults: [] });
  expect([none.mayAlert("x"), none.watches("failure"), none.shortestGraceMs()]).toEqual([false, false, null]);
});
