import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { cli, cliJson, openDb, sandbox, type Sandbox } from "./helpers.ts";

// `prune --dry-run` counts what a prune would delete and deletes nothing; durations on the command line need a
// unit, so `--older-than 30` (30 milliseconds to the library) cannot wipe a month of history by accident.

let box: Sandbox;
let ids: string[];
beforeAll(async () => {
  box = await sandbox();
  box.write("flywheel.yaml", "db: { sqlite: ./fw.db }\n");
  expect((await cli(box, ["migrate"])).code).toBe(0);
  ids = [];
  for (let i = 0; i < 3; i++) ids.push((await cli(box, ["enqueue", "shell", '{"inline":"true"}'])).stdout.trim());
  for (const id of ids.slice(0, 2)) expect((await cli(box, ["jobs", "cancel", id])).code).toBe(0);
});
afterAll(() => box.remove());

async function jobIds(): Promise<string[]> {
  const fw = await openDb(join(box.dir, "fw.db"));
  try {
    return (await fw.listJobs()).map((j) => j.id).sort();
  } finally {
    await fw.close();
  }
}

describe("prune", () => {
  test("a bare number is a usage error naming the flag and an example; nothing is deleted", async () => {
    for (const args of [["prune", "--older-than", "30"], ["prune", "--older-than", "30", "--dry-run"]]) {
      const r = await cli(box, args);
      expect(r).toEqual({
        code: 2,
        stdout: "",
        stderr: 'flywheel: --older-than: expected a duration with a unit (ms, s, m, h, d) such as 30s, 10m, 2h or 30d, got "30"\n',
      });
    }
    expect(await jobIds()).toEqual([...ids].sort());
  });

  test("--dry-run prints what would be deleted, per state, and deletes nothing", async () => {
    // Both cancels finished at least one spawn ago, so they are older than 1ms.
    const human = await cli(box, ["prune", "--older-than", "1ms", "--dry-run"]);
    expect(human).toEqual({ code: 0, stdout: "would delete 2 finished jobs older than 1ms (cancelled 2); nothing deleted (dry run)\n", stderr: "" });
    expect(await cliJson(box, ["prune", "--older-than", "1ms", "--dry-run"])).toEqual({ dry_run: true, would_delete: 2, by_state: { cancelled: 2 } });
    expect(await cliJson(box, ["prune", "--older-than", "1d", "--dry-run"])).toEqual({ dry_run: true, would_delete: 0, by_state: {} });
    expect(await jobIds()).toEqual([...ids].sort());
    // The real prune takes exactly what the dry run counted.
    expect(await cliJson(box, ["prune", "--older-than", "1ms"])).toEqual({ deleted: 2 });
    expect(await jobIds()).toEqual([ids[2]!]);
  });
});

test("every duration flag needs a unit", async () => {
  const results = await Promise.all([
    cli(box, ["enqueue", "shell", '{"inline":"true"}', "--in", "10"]),
    cli(box, ["schedule", "add", "x", "shell", "--every", "5", "--args", '{"inline":"true"}']),
    cli(box, ["status", "--interval", "2"]),
  ]);
  expect(results.map((r) => [r.code, r.stderr.trim().split("\n").at(-1)!.split(":")[1]?.trim()])).toEqual([
    [2, "--in"],
    [2, "--every"],
    [2, "--interval"],
  ]);
  for (const r of results) expect(r.stderr).toContain("such as 30s, 10m, 2h or 30d");
});
