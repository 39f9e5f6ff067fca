import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, realpathSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { execWorker } from "../../src/workers/exec.ts";
import type { CommandOutput } from "../../src/workers/spawn.ts";
import { tempDir } from "../support/helpers.ts";
import { work, workError, writeExecutable } from "./helpers.ts";

const tmp = await tempDir("flywheel-workers-");
afterAll(() => tmp.remove());

describe("exec worker", () => {
  const exec = execWorker({ baseDir: tmp.path });

  test("passes args verbatim, with no shell in between", async () => {
    const result = await work(exec, { command: "printf", args: ["%s|%s|%s", "a b", "$HOME", "*"] });
    expect((result.output as CommandOutput).stdout).toBe("a b|$HOME|*");
  });

  test("runs in dir, resolved against baseDir", async () => {
    mkdirSync(join(tmp.path, "work"));
    const result = await work(exec, { command: "pwd", dir: "work" });
    expect(realpathSync((result.output as CommandOutput).stdout.trim())).toBe(realpathSync(join(tmp.path, "work")));
  });

  test("a command given as a relative path resolves against baseDir", async () => {
    mkdirSync(join(tmp.path, "bin"));
    writeExecutable(join(tmp.path, "bin", "tool"), 'echo "tool $1"');
    const result = await work(exec, { command: "./bin/tool", args: ["ran"] });
    expect(result.output).toMatchObject({ exit_code: 0, stdout: "tool ran\n", command: [join(tmp.path, "bin", "tool"), "ran"] });
  });

  test("a missing binary is permanent and names it", async () => {
    const error = await workError(exec, { command: "flywheel-no-such-binary" });
    expect(error.errorClass).toBe("permanent");
    expect(error.message).toStartWith('command not found: "flywheel-no-such-binary" on PATH=');
  });

  test("a missing binary given as a path is permanent and names the path", async () => {
    const error = await workError(exec, { command: "./bin/missing" });
    expect(error.errorClass).toBe("permanent");
    expect(error.message).toBe(`command not found: ${join(tmp.path, "bin", "missing")}`);
  });

  test("the schema rejects unknown keys, naming them", () => {
    const result = v.safeParse(exec.args!, { command: "ls", timeout_second: 5 });
    expect(result.success).toBe(false);
    expect(result.issues?.map((issue) => v.getDotPath(issue))).toEqual(["timeout_second"]);
  });

  test("the schema rejects a missing command and bad common fields", () => {
    const result = v.safeParse(exec.args!, { args: "not-a-list", timeout_seconds: 0, permanent_exit_codes: [0] });
    expect(result.success).toBe(false);
    expect(result.issues?.map((issue) => v.getDotPath(issue)).sort()).toEqual(["args", "command", "permanent_exit_codes.0", "timeout_seconds"]);
  });
});
