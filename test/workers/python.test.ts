import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { pythonWorker } from "../../src/workers/python.ts";
import type { CommandOutput } from "../../src/workers/spawn.ts";
import { tempDir } from "../support/helpers.ts";
import { work, workError, writeExecutable } from "./helpers.ts";

const tmp = await tempDir("flywheel-workers-");
afterAll(() => tmp.remove());
const hostPython = Bun.which("python3") ?? Bun.which("python");

describe("python worker", () => {
  const python = pythonWorker({ baseDir: tmp.path });

  test("runs inline source with args in sys.argv", async () => {
    if (!hostPython) {
      console.log("skipping python inline test: neither python3 nor python is on PATH");
      return;
    }
    const result = await work(python, { inline: "import sys; print('py', sys.argv[1:]); sys.stderr.write('warn\\n')", args: ["a"] });
    expect(result.output).toMatchObject({ exit_code: 0, stdout: "py ['a']\n", stderr: "warn\n" });
  });

  test("falls back to python when python3 is not on the child's PATH", async () => {
    const fake = join(tmp.path, "only-python");
    mkdirSync(fake);
    writeExecutable(join(fake, "python"), 'echo "fake python: $*"');
    const result = await work(python, { module: "http.server", args: ["8000"], env: { PATH: fake } });
    const output = result.output as CommandOutput;
    expect(output.command).toEqual(["python", "-m", "http.server", "8000"]);
    expect(output.stdout).toBe("fake python: -m http.server 8000\n");
  });

  test("a script resolves against baseDir; a given interpreter is used as is", async () => {
    writeFileSync(join(tmp.path, "job.py"), "print('hi')\n");
    const fake = join(tmp.path, "interp");
    mkdirSync(fake);
    writeExecutable(join(fake, "mypy3"), 'echo "ran $1"');
    const result = await work(python, { script: "job.py", interpreter: "mypy3", env: { PATH: fake } });
    expect((result.output as CommandOutput).stdout).toBe(`ran ${join(tmp.path, "job.py")}\n`);
  });

  test("with no interpreter on PATH the job is permanent, naming python3", async () => {
    const error = await workError(python, { inline: "pass", env: { PATH: join(tmp.path, "empty-path") } });
    expect(error.errorClass).toBe("permanent");
    expect(error.message).toContain('"python3"');
  });

  test("the schema wants exactly one of script, module and inline", () => {
    expect(v.safeParse(python.args!, { script: "a.py", inline: "pass" }).success).toBe(false);
    expect(v.safeParse(python.args!, {}).success).toBe(false);
    expect(v.safeParse(python.args!, { module: "m" }).success).toBe(true);
  });
});
