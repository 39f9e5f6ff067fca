import { beforeEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  isCacheFresh,
  maybeNotifyUpdate,
  readUpdateCheckCache,
  UPDATE_CHECK_INTERVAL_MS,
  updateCheckCachePath,
  updateCheckEnabled,
  updateNotice,
  writeUpdateCheckCache,
  type UpdateCheckOptions,
} from "../../src/update/check.ts";
import { useReleaseServer, type FakeReleaseServer } from "./fake-release-server.ts";

const T0 = new Date("2026-03-01T12:00:00Z");
const HOUR = 60 * 60 * 1000;

let server: FakeReleaseServer;
let root: string;
let cachePath: string;
let lines: string[];
let n = 0;

useReleaseServer("flywheel-check-", (s, r) => {
  server = s;
  root = r;
});
beforeEach(() => {
  cachePath = join(root, String(n++), "flywheel", "update-check.json");
  lines = [];
  server.hang = false;
  server.requests.length = 0;
  server.publish([{ version: "1.0.0", assets: {} }, { version: "1.2.0", assets: {} }]);
});

/** A passive check as a compiled binary on a TTY would run it, at `now`. */
function check(now: Date, extra: Partial<UpdateCheckOptions> = {}): Promise<void> {
  return maybeNotifyUpdate({
    env: {},
    isTTY: true,
    compiled: true,
    now: () => now,
    cachePath,
    currentVersion: "1.0.0",
    baseUrl: server.url,
    write: (line) => lines.push(line),
    ...extra,
  });
}

const NOTICE = "flywheel 1.2.0 is available (you have 1.0.0): run `flywheel self-update`";

describe("maybeNotifyUpdate", () => {
  test("first run: no cache, nothing printed, one request, cache written", async () => {
    await check(T0);
    expect(lines).toEqual([]);
    expect(server.requests).toEqual(["/releases/latest"]);
    expect(readUpdateCheckCache(cachePath)).toEqual({ checked_at: T0.toISOString(), latest: "1.2.0", source: server.url });
  });

  test("within 24 h: prints from the cache and asks nobody", async () => {
    await check(T0);
    server.requests.length = 0;
    await check(new Date(T0.getTime() + 23 * HOUR));
    expect(lines).toEqual([NOTICE]);
    expect(server.requests).toEqual([]);
  });

  test("after 24 h: prints what it knows and refreshes the cache", async () => {
    await check(T0);
    server.publish([{ version: "1.3.0", assets: {} }]);
    server.requests.length = 0;
    const later = new Date(T0.getTime() + UPDATE_CHECK_INTERVAL_MS);
    await check(later);
    expect(lines).toEqual([NOTICE]);
    expect(server.requests).toEqual(["/releases/latest"]);
    expect(readUpdateCheckCache(cachePath)?.latest).toBe("1.3.0");
    expect(readUpdateCheckCache(cachePath)?.checked_at).toBe(later.toISOString());
  });

  test("no notice when the cached latest is not newer", async () => {
    await check(T0, { currentVersion: "1.2.0" });
    await check(T0, { currentVersion: "1.2.0" });
    expect(lines).toEqual([]);
  });

  test.each([
    ["CI=true", { env: { CI: "true" } }],
    ["CI=1", { env: { CI: "1" } }],
    ["FLYWHEEL_NO_UPDATE_CHECK=1", { env: { FLYWHEEL_NO_UPDATE_CHECK: "1" } }],
    ["stderr not a TTY", { isTTY: false }],
    ["running from source", { compiled: false }],
  ] as [string, Partial<UpdateCheckOptions>][])("silent and offline when %s", async (_, extra) => {
    writeUpdateCheckCache(cachePath, { checked_at: T0.toISOString(), latest: "9.0.0", source: server.url });
    await check(new Date(T0.getTime() + 48 * HOUR), extra);
    expect(lines).toEqual([]);
    expect(server.requests).toEqual([]);
  });

  test("a failed request is remembered for 24 h, keeping the last known version", async () => {
    writeUpdateCheckCache(cachePath, { checked_at: T0.toISOString(), latest: "1.2.0", source: server.url });
    const later = new Date(T0.getTime() + 25 * HOUR);
    await check(later, { baseUrl: server.url, fetch: async () => new Response("down", { status: 503 }) });
    expect(readUpdateCheckCache(cachePath)).toEqual({ checked_at: later.toISOString(), latest: "1.2.0", source: server.url });
    expect(lines).toEqual([NOTICE]);
  });

  test("a hanging release source costs at most the timeout", async () => {
    server.hang = true;
    const started = performance.now();
    await check(T0, { timeoutMs: 100 });
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(1000);
    expect(readUpdateCheckCache(cachePath)?.latest).toBeNull();
  });

  test("the notice is printed before the request finishes (never waits on the network)", async () => {
    writeUpdateCheckCache(cachePath, { checked_at: T0.toISOString(), latest: "1.2.0", source: server.url });
    server.hang = true;
    const pending = check(new Date(T0.getTime() + 25 * HOUR), { timeoutMs: 100 });
    expect(lines).toEqual([NOTICE]);
    await pending;
  });

  test("a cache from another FLYWHEEL_UPDATE_URL is ignored", async () => {
    writeUpdateCheckCache(cachePath, { checked_at: T0.toISOString(), latest: "9.0.0", source: "http://elsewhere" });
    await check(T0);
    expect(lines).toEqual([]);
    expect(server.requests).toEqual(["/releases/latest"]);
  });

  test("a corrupt cache counts as no cache", async () => {
    await check(T0);
    writeFileSync(cachePath, "{not json");
    expect(readUpdateCheckCache(cachePath)).toBeUndefined();
    server.requests.length = 0;
    await check(T0);
    expect(server.requests).toEqual(["/releases/latest"]);
  });

  test("never throws, even when the cache cannot be written", async () => {
    await check(T0, { cachePath: "/proc/flywheel-cannot-write-here/update-check.json" });
    expect(lines).toEqual([]);
  });
});

describe("pieces", () => {
  test("cache path follows XDG_CACHE_HOME, else ~/.cache; relative XDG is ignored", () => {
    expect(updateCheckCachePath({ XDG_CACHE_HOME: "/x/cache", HOME: "/home/a" })).toBe("/x/cache/flywheel/update-check.json");
    expect(updateCheckCachePath({ HOME: "/home/a" })).toBe("/home/a/.cache/flywheel/update-check.json");
    expect(updateCheckCachePath({ XDG_CACHE_HOME: "rel", HOME: "/home/a" })).toBe("/home/a/.cache/flywheel/update-check.json");
  });

  test("enabled only on a TTY, outside CI, without the opt-out; FLYWHEEL_FORCE_TTY=1 forces the TTY", () => {
    expect(updateCheckEnabled({}, true)).toBe(true);
    expect(updateCheckEnabled({}, false)).toBe(false);
    expect(updateCheckEnabled({ FLYWHEEL_FORCE_TTY: "1" }, false)).toBe(true);
    expect(updateCheckEnabled({ CI: "true", FLYWHEEL_FORCE_TTY: "1" }, true)).toBe(false);
    expect(updateCheckEnabled({ CI: "false" }, true)).toBe(true);
    expect(updateCheckEnabled({ CI: "0" }, true)).toBe(true);
    expect(updateCheckEnabled({ FLYWHEEL_NO_UPDATE_CHECK: "1" }, true)).toBe(false);
    expect(updateCheckEnabled({ FLYWHEEL_NO_UPDATE_CHECK: "0" }, true)).toBe(true);
  });

  test("freshness: under 24 h, same source, not from the future", () => {
    const cache = { checked_at: T0.toISOString(), latest: "1.0.0", source: "s" };
    expect(isCacheFresh(cache, "s", new Date(T0.getTime() + UPDATE_CHECK_INTERVAL_MS - 1))).toBe(true);
    expect(isCacheFresh(cache, "s", new Date(T0.getTime() + UPDATE_CHECK_INTERVAL_MS))).toBe(false);
    expect(isCacheFresh(cache, "other", T0)).toBe(false);
    expect(isCacheFresh(cache, "s", new Date(T0.getTime() - HOUR))).toBe(false);
    expect(isCacheFresh(undefined, "s", T0)).toBe(false);
  });

  test("notice wording, and silence for equal, older or unparseable versions", () => {
    expect(updateNotice("1.0.0", "1.2.0")).toBe(NOTICE);
    expect(updateNotice("1.2.0", "1.2.0")).toBeUndefined();
    expect(updateNotice("1.2.0", "1.0.0")).toBeUndefined();
    expect(updateNotice("1.0.0", null)).toBeUndefined();
    expect(updateNotice("1.0.0", "garbage")).toBeUndefined();
  });
});
