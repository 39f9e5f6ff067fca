import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { mageWorker } from "../../src/workers/mage.ts";
import type { CommandOutput } from "../../src/workers/spawn.ts";
import { tempDir } from "../support/helpers.ts";
import { work, workError, writeExecutable } from "./helpers.ts";

const tmp = await tempDir("flywheel-workers-");
afterAll(() => tmp.remove());

function fakeBin(name: string): string {
  const dir = join(tmp.path, `with-${name}`);
  mkdirSync(dir, { recursive: true });
  writeExecutable(join(dir, name), `echo "${name} $*"`);
  return dir;
}

describe("mage worker", () => {
  const mage = mageWorker();

  test("runs magex with flags before targets", async () => {
    const result = await work(mage, { targets: ["build", "test"], args: ["-v"], env: { PATH: fakeBin("magex") } });
    expect((result.output as CommandOutput).stdout).toBe("magex -v build test\n");
  });

  test("falls back to mage when magex is not on PATH", async () => {
    const result = await work(mage, { targets: ["lint"], env: { PATH: fakeBin("mage") } });
    expect((result.output as CommandOutput).command).toEqual(["mage", "lint"]);
  });

  test("neither on PATH is permanent, naming magex", async () => {
    const error = await workError(mage, { targets: ["build"], env: { PATH: join(tmp.path, "nothing") } });
    expect(error.errorClass).toBe("permanent");
    expect(error.message).toContain('"magex"');
  });

  test("targets are required and non-empty", () => {
    expect(v.safeParse(mage.args!, { targets: [] }).success).toBe(false);
    expect(v.safeParse(mage.args!, {}).success).toBe(false);
  });
});
