import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { makePrivateDirs } from "../../src/daemon/open.ts";
import { tempDir } from "../support/helpers.ts";

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe("makePrivateDirs", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(() => dir.remove());

  test("every directory it creates is 0700 even under a umask that strips the owner's bits", () => {
    // 0o277 turns mkdir's 0700 into 0400: only the chmod can make these directories usable.
    const previous = process.umask(0o277);
    try {
      makePrivateDirs(join(dir.path, "a", "b", "c"));
    } finally {
      process.umask(previous);
    }
    expect([modeOf(join(dir.path, "a")), modeOf(join(dir.path, "a", "b")), modeOf(join(dir.path, "a", "b", "c"))]).toEqual([0o700, 0o700, 0o700]);
  });

  test("an existing directory keeps its mode; only the missing ones below it are made private", () => {
    const existing = join(dir.path, "shared");
    mkdirSync(existing, { mode: 0o755 });
    const previous = process.umask(0o022);
    try {
      makePrivateDirs(existing);
      makePrivateDirs(join(existing, "flywheel"));
    } finally {
      process.umask(previous);
    }
    expect(modeOf(existing)).toBe(0o755);
    expect(modeOf(join(existing, "flywheel"))).toBe(0o700);
  });
});
