import { describe, expect, test } from "bun:test";
import { progressBar, renderProgress } from "../../src/update/progress.ts";

const MiB = 1024 * 1024;

describe("renderProgress", () => {
  test("a bar, the percentage and the sizes, at a fixed width for one total", () => {
    expect(renderProgress("downloading", 0, 20 * MiB)).toBe(`downloading [${".".repeat(30)}]   0%   0.0/20.0 MiB`);
    expect(renderProgress("downloading", 5 * MiB, 20 * MiB)).toBe(`downloading [${"#".repeat(7)}${".".repeat(23)}]  25%   5.0/20.0 MiB`);
    expect(renderProgress("downloading", 20 * MiB, 20 * MiB)).toBe(`downloading [${"#".repeat(30)}] 100%  20.0/20.0 MiB`);
    const widths = [0, 1, 7 * MiB, 20 * MiB].map((n) => renderProgress("downloading", n, 20 * MiB).length);
    expect(new Set(widths).size).toBe(1);
  });

  test("an unknown total shows the bytes only", () => {
    expect(renderProgress("downloading", 3 * MiB, undefined)).toBe("downloading  3.0 MiB");
  });
});

describe("progressBar", () => {
  test("redraws with a carriage return only when the line changes, and ends it once", () => {
    const out: string[] = [];
    const bar = progressBar((s) => out.push(s), "dl");
    bar.update(0, 10 * MiB);
    bar.update(10, 10 * MiB);
    bar.update(5 * MiB, 10 * MiB);
    bar.update(10 * MiB, 10 * MiB);
    bar.done();
    bar.done();
    expect(out).toEqual([`\r${renderProgress("dl", 0, 10 * MiB)}`, `\r${renderProgress("dl", 5 * MiB, 10 * MiB)}`, `\r${renderProgress("dl", 10 * MiB, 10 * MiB)}`, "\n"]);
    expect(out.join("")).not.toContain("\x1b");
  });

  test("done without any update writes nothing", () => {
    const out: string[] = [];
    progressBar((s) => out.push(s), "dl").done();
    expect(out).toEqual([]);
  });
});
