import { describe, expect, test } from "bun:test";
import { compareVersions, parseVersion, stripV } from "../../src/update/semver.ts";

describe("compareVersions", () => {
  const ordered: [string, string][] = [
    ["0.0.1", "0.0.2"],
    ["0.9.9", "0.10.0"],
    ["1.2.3", "1.10.0"],
    ["1.9.0", "2.0.0"],
    ["1.0.0-rc.1", "1.0.0"],
    ["1.0.0-alpha", "1.0.0-alpha.1"],
    ["1.0.0-alpha.1", "1.0.0-alpha.beta"],
    ["1.0.0-rc.9", "1.0.0-rc.10"],
    ["1.0.0-beta.11", "1.0.0-rc.1"],
  ];
  test.each(ordered)("%s < %s", (lo, hi) => {
    expect(compareVersions(lo, hi)).toBe(-1);
    expect(compareVersions(hi, lo)).toBe(1);
  });

  test("equal versions, with or without v and build metadata", () => {
    expect(compareVersions("v1.2.3", "1.2.3")).toBe(0);
    expect(compareVersions("1.2.3+abc", "1.2.3")).toBe(0);
  });

  test("throws on a non-version rather than guessing", () => {
    expect(() => compareVersions("latest", "1.0.0")).toThrow(/"latest" is not a version/);
    expect(() => compareVersions("1.0", "1.0.0")).toThrow(/not a version/);
  });
});

describe("parseVersion", () => {
  test("accepts tags and rejects junk", () => {
    expect(parseVersion("v1.2.3-rc.1")).toEqual({ major: 1, minor: 2, patch: 3, prerelease: ["rc", "1"] });
    expect(parseVersion("01.2.3")).toBeUndefined();
    expect(parseVersion("1.2.3.4")).toBeUndefined();
    expect(parseVersion("")).toBeUndefined();
  });

  test("stripV drops only a leading v", () => {
    expect(stripV("v1.2.3")).toBe("1.2.3");
    expect(stripV("1.2.3")).toBe("1.2.3");
  });
});
