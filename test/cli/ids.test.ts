import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { cli, cliJson, openDb, sandbox, type Sandbox } from "./helpers.ts";

// Every command that takes a job id takes a unique prefix of it (8+ characters), as tables show them; a prefix
// that is short or matches several jobs is refused in one line, exit 2, and changes nothing.

let box: Sandbox;
let first: string;
let second: string;
beforeAll(async () => {
  box = await sandbox();
  expect((await cli(box, ["migrate"])).code).toBe(0);
  const fw = await openDb(join(box.env.XDG_STATE_HOME!, "flywheel", "flywheel.db"));
  try {
    // One call, one millisecond: UUIDv7 ids that share their leading (time) characters.
    const ids = await fw.insertMany([
      { kind: "noop", args: {}, options: { queue: "parked" } },
      { kind: "noop", args: {}, options: { queue: "parked" } },
    ]);
    [first, second] = [ids[0]!, ids[1]!];
  } finally {
    await fw.close();
  }
});
afterAll(() => box.remove());

/** The shortest prefix of `id` that `other` does not share. */
function uniquePrefixOf(id: string, other: string): string {
  let n = 8;
  while (other.startsWith(id.slice(0, n))) n++;
  return id.slice(0, n);
}

describe("job id prefixes", () => {
  test("jobs inspect, cancel, retry and emit accept a unique prefix and act on the full id", async () => {
    const prefix = uniquePrefixOf(first, second);
    expect((await cliJson(box, ["jobs", "inspect", prefix])).job.id).toBe(first);
    expect(await cliJson(box, ["emit", prefix, "approval"])).toEqual({ id: first, name: "approval", state: "available" });
    expect(await cliJson(box, ["jobs", "cancel", prefix])).toMatchObject({ id: first, state: "cancelled" });
    expect(await cliJson(box, ["jobs", "retry", prefix])).toMatchObject({ id: first, state: "available" });
    const human = await cli(box, ["jobs", "cancel", prefix]);
    expect(human).toEqual({ code: 0, stdout: `job ${first} is cancelled\n`, stderr: "" });
  });

  test("the cut id a narrow table shows is accepted back", async () => {
    const table = await cli(box, ["jobs", "ls"], { env: { COLUMNS: "40" } });
    const cells = table.stdout.trimEnd().split("\n").slice(1).map((l) => l.split(/\s+/)[0]!);
    expect(cells.every((c) => c.endsWith("…"))).toBe(true);
    for (const cell of cells) {
      const { job } = await cliJson(box, ["jobs", "inspect", cell.slice(0, -1)]);
      expect([first, second]).toContain(job.id);
    }
  });

  test("a prefix matching several jobs, or shorter than 8, exits 2 with one line and changes nothing", async () => {
    let shared = 8;
    while (first[shared] === second[shared]) shared++;
    const ambiguous = first.slice(0, shared);
    expect(shared).toBeGreaterThanOrEqual(8);
    for (const args of [["jobs", "cancel", ambiguous], ["jobs", "inspect", ambiguous], ["emit", ambiguous, "approval"]]) {
      const r = await cli(box, args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toStartWith(`flywheel: job id prefix "${ambiguous}" matches several jobs (`);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
    const short = await cli(box, ["jobs", "retry", first.slice(0, 7)]);
    expect(short).toEqual({ code: 2, stdout: "", stderr: `flywheel: job id "${first.slice(0, 7)}" is too short: give at least 8 characters\n` });
    expect((await cliJson(box, ["jobs", "inspect", second])).job.state).toBe("available");
  });

  test("a prefix matching nothing exits 1: not found", async () => {
    const r = await cli(box, ["jobs", "inspect", "ffffffff"]);
    expect(r).toEqual({ code: 1, stdout: "", stderr: "flywheel: job ffffffff not found\n" });
  });
});
