import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CommandOutput } from "../../src/workers/spawn.ts";
import { shellWorker } from "../../src/workers/shell.ts";
import { tempDir } from "../support/helpers.ts";
import { work, workError } from "./helpers.ts";

const tmp = await tempDir("flywheel-workers-");
afterAll(() => tmp.remove());

describe("shell worker", () => {
  const shell = shellWorker({ baseDir: tmp.path });

  test("exit 0 succeeds with stdout, stderr and the exit code captured", async () => {
    const result = await work(shell, { inline: "echo to-out; echo to-err >&2" });
    const output = result.output as CommandOutput;
    expect(output).toMatchObject({ exit_code: 0, signal: null, stdout: "to-out\n", stderr: "to-err\n", stdout_truncated: false, stderr_truncated: false });
    expect(output.command).toEqual(["sh", "-c", "echo to-out; echo to-err >&2", "sh"]);
  });

  test("a non-zero exit is a transient error naming the code and the last stderr line", async () => {
    const error = await workError(shell, { inline: "echo first >&2; echo 'disk full' >&2; exit 3" });
    expect(error.errorClass).toBe("transient");
    expect(error.message).toBe("exit 3: disk full");
    expect((error.output as CommandOutput).exit_code).toBe(3);
  });

  test("an exit code listed in permanent_exit_codes is permanent", async () => {
    const error = await workError(shell, { inline: "exit 3", permanent_exit_codes: [2, 3] });
    expect(error.errorClass).toBe("permanent");
    expect(error.message).toBe("exit 3");
  });

  test("a command killed by a signal it did not get from us is transient", async () => {
    const error = await workError(shell, { inline: "kill -KILL $$" });
    expect(error.errorClass).toBe("transient");
    expect(error.output).toMatchObject({ exit_code: null, signal: "SIGKILL" });
    expect(error.message).toStartWith("killed by SIGKILL");
  });

  test("output over the cap keeps head and tail and sets truncated", async () => {
    const capped = shellWorker({ maxOutputBytes: 200 });
    const result = await work(capped, { inline: 'i=0; while [ $i -lt 1000 ]; do echo "line $i"; i=$((i+1)); done; echo small >&2' });
    const output = result.output as CommandOutput;
    expect(output.stdout_truncated).toBe(true);
    expect(output.stdout).toStartWith("line 0\nline 1\n");
    expect(output.stdout).toEndWith("line 998\nline 999\n");
    expect(output.stdout).toMatch(/\[flywheel: \d+ bytes omitted\]/);
    expect(output.stdout.length).toBeLessThan(300);
    expect(output).toMatchObject({ stderr: "small\n", stderr_truncated: false });
  });

  describe("environment", () => {
    beforeAll(() => {
      process.env.FLYWHEEL_SECRET_TEST = "hunter2";
    });
    afterAll(() => {
      delete process.env.FLYWHEEL_SECRET_TEST;
    });

    test("hides host variables outside the allowlist and adds env on top", async () => {
      const result = await work(shell, { inline: 'echo "secret=${FLYWHEEL_SECRET_TEST:-hidden} extra=$EXTRA path=${PATH:+set}"', env: { EXTRA: "yes" } });
      expect((result.output as CommandOutput).stdout).toBe("secret=hidden extra=yes path=set\n");
    });

    test("passes a host variable that the allowlist names", async () => {
      const open = shellWorker({ envAllowlist: ["PATH", "FLYWHEEL_SECRET_TEST"] });
      const result = await work(open, { inline: 'echo "secret=$FLYWHEEL_SECRET_TEST home=${HOME:-unset}"' });
      expect((result.output as CommandOutput).stdout).toBe("secret=hunter2 home=unset\n");
    });
  });

  test("runs a script without the executable bit, relative to baseDir, with args", async () => {
    writeFileSync(join(tmp.path, "plain.sh"), 'echo "script got $1 $2 in $(pwd)"\n', { mode: 0o644 });
    expect(statSync(join(tmp.path, "plain.sh")).mode & 0o111).toBe(0);
    const result = await work(shell, { script: "./plain.sh", args: ["a", "b c"], dir: "/" });
    expect((result.output as CommandOutput).stdout).toBe("script got a b c in /\n");
  });

  test("inline args become $1 and onward", async () => {
    const result = await work(shell, { inline: 'printf "%s|" "$@"', args: ["x", "y z"] });
    expect((result.output as CommandOutput).stdout).toBe("x|y z|");
  });

  test("a missing script is permanent and names the resolved path", async () => {
    const error = await workError(shell, { script: "nope.sh" });
    expect(error.errorClass).toBe("permanent");
    expect(error.message).toBe(`script not found: ${join(tmp.path, "nope.sh")}`);
  });

  test("a missing shell is permanent", async () => {
    const error = await workError(shell, { inline: "true", shell: "no-such-shell-flywheel" });
    expect(error.errorClass).toBe("permanent");
    expect(error.message).toContain('command not found: "no-such-shell-flywheel"');
  });

  test("a missing working directory is permanent and names it", async () => {
    const error = await workError(shell, { inline: "true", dir: "missing-dir" });
    expect(error.errorClass).toBe("permanent");
    expect(error.message).toBe(`working directory not found: ${join(tmp.path, "missing-dir")}`);
  });
});
