import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { cli, cliJson, openDb, sandbox, type Sandbox } from "./helpers.ts";

// SPEC §18 through the real CLI: limits ls/set/clear, their --json, and refusals (exit 2, nothing stored).

let box: Sandbox;

beforeAll(async () => {
  box = await sandbox();
  box.write("flywheel.yaml", "db: { sqlite: ./fw.db }\nruntime: { http_addr: off }\nlog: { format: json }\n");
  expect((await cli(box, ["migrate"])).code).toBe(0);
});
afterAll(() => box.remove());

describe("limits", () => {
  test("set a kind's and a queue's limits, list them, replace one, clear one; --json has the same", async () => {
    expect(await cli(box, ["limits", "set", "--kind", "send_email", "--concurrency", "5", "--rate", "100/60s"])).toEqual({
      code: 0,
      stdout: "limited kind send_email to 5 at once, 100/1m starts\n",
      stderr: "",
    });
    expect(await cliJson(box, ["limits", "set", "--queue", "mail", "--rate", "10/1s"])).toMatchObject({ scope: "queue", name: "mail", concurrency: null, rate: "10/1s" });
    const human = await cli(box, ["limits", "ls"]);
    expect(human.stdout).toMatch(/^SCOPE\s+NAME\s+CONCURRENCY\s+RATE\n/);
    expect(human.stdout).toMatch(/\nkind\s+send_email\s+5\s+100\/1m\n/);
    expect(human.stdout).toMatch(/\nqueue\s+mail\s+-\s+10\/1s\n/);
    await cli(box, ["limits", "set", "--kind", "send_email", "--concurrency", "2"]);
    expect((await cliJson(box, ["limits", "ls"])).map((l: any) => [l.scope, l.name, l.concurrency, l.rate])).toEqual([
      ["kind", "send_email", 2, null],
      ["queue", "mail", null, "10/1s"],
    ]);
    expect(await cliJson(box, ["limits", "clear", "--queue", "mail"])).toEqual({ scope: "queue", name: "mail", removed: true });
    expect(await cli(box, ["limits", "clear", "--queue", "mail"])).toEqual({ code: 0, stdout: "queue mail had no limit\n", stderr: "" });
    // What the CLI stored is what the library reads.
    const fw = await openDb(join(box.dir, "fw.db"));
    try {
      expect((await fw.listLimits()).map((l) => l.name)).toEqual(["send_email"]);
    } finally {
      await fw.close();
    }
    expect(await cli(box, ["limits", "clear", "--kind", "send_email"])).toEqual({ code: 0, stdout: "cleared the limit of kind send_email\n", stderr: "" });
  });

  test("bad command lines exit 2 with one line naming what is wrong, and store nothing", async () => {
    const cases: Array<[string[], string]> = [
      [["limits", "set", "--kind", "k", "--rate", "100/0s"], "rate"],
      [["limits", "set", "--kind", "k", "--rate", "-1/1m"], "rate"],
      [["limits", "set", "--kind", "k", "--concurrency", "0"], "--concurrency"],
      [["limits", "set", "--kind", "k", "--concurrency", "1.5"], "--concurrency"],
      [["limits", "set", "--kind", "k"], "--concurrency"],
      [["limits", "set", "--kind", "k", "--queue", "q", "--concurrency", "1"], "--kind"],
      [["limits", "set", "--concurrency", "1"], "--kind"],
      [["limits", "clear"], "--kind"],
      [["limits", "set", "--kind", "k", "--concurrency", "1", "--burst", "2"], "--burst"],
      [["limits"], "subcommand"],
    ];
    for (const [args, named] of cases) {
      const result = await cli(box, args);
      expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 2, stdout: "" });
      const last = result.stderr.trimEnd().split("\n").at(-1)!;
      expect(last).toContain(named);
    }
    expect(await cliJson(box, ["limits", "ls"])).toEqual([]);
  });
});
