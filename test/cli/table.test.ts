import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cli, cliJson, sandbox, type Sandbox } from "./helpers.ts";

// Tables fit the terminal ($COLUMNS or the tty's width): long text is cut with `…` first, ids last and never
// below 8 characters; piped output without $COLUMNS is never cut.

let box: Sandbox;
const LONG_KIND = "a-very-long-kind-name-that-goes-on-and-on-and-on-for-a-while";
let ids: string[];
beforeAll(async () => {
  box = await sandbox();
  expect((await cli(box, ["migrate"])).code).toBe(0);
  for (const kind of [LONG_KIND, "shell", "tidy"]) expect((await cli(box, ["enqueue", kind, '{"inline":"echo"}'])).code).toBe(0);
  ids = (await cliJson<{ id: string }[]>(box, ["jobs", "ls"])).map((j) => j.id);
});
afterAll(() => box.remove());

/** The data lines of a `jobs ls` table, split into the ID cell and the rest. */
function rowsOf(stdout: string): { id: string; line: string }[] {
  return stdout.trimEnd().split("\n").slice(1).map((line) => ({ id: line.split(/\s+/)[0]!, line }));
}

describe("table width", () => {
  test("piped without $COLUMNS: nothing is cut", async () => {
    const r = await cli(box, ["jobs", "ls"]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("…");
    expect(r.stdout).toContain(LONG_KIND);
    expect(rowsOf(r.stdout).map((row) => row.id)).toEqual(ids);
  });

  test("$COLUMNS=100: the widest text column is cut with … and every line fits; ids stay whole", async () => {
    const r = await cli(box, ["jobs", "ls"], { env: { COLUMNS: "100" } });
    expect(r.code).toBe(0);
    for (const line of r.stdout.trimEnd().split("\n")) expect([...line].length).toBeLessThanOrEqual(100);
    expect(r.stdout).not.toContain(LONG_KIND);
    expect(r.stdout).toMatch(/ a-very-long-[a-z-]*… /);
    expect(rowsOf(r.stdout).map((row) => row.id)).toEqual(ids);
    expect(r.stdout.split("\n")[0]).toMatch(/^ID {2,}KIND {2,}QUEUE {2,}STATE/);
  });

  test("a narrow terminal cuts ids last, to a prefix of at least 8 characters that still tells the rows apart", async () => {
    const r = await cli(box, ["jobs", "ls"], { env: { COLUMNS: "40" } });
    expect(r.code).toBe(0);
    const shown = rowsOf(r.stdout).map((row) => row.id);
    for (const [i, cell] of shown.entries()) {
      expect(cell).toEndWith("…");
      const prefix = cell.slice(0, -1);
      expect(prefix.length).toBeGreaterThanOrEqual(8);
      expect(ids[i]!.startsWith(prefix)).toBe(true);
    }
    expect(new Set(shown).size).toBe(ids.length);
  });

  test("a $COLUMNS that is not a positive whole number is ignored", async () => {
    const r = await cli(box, ["jobs", "ls"], { env: { COLUMNS: "wide" } });
    expect(r.stdout).toContain(LONG_KIND);
  });

  test("a schedule's slug is never cut: people type it back", async () => {
    const slug = "nightly-backup-of-every-database-we-have";
    expect((await cli(box, ["schedule", "add", slug, "shell", "--cron", "0 3 * * *", "--tz", "Europe/Berlin", "--args", '{"inline":"true"}'])).code).toBe(0);
    const r = await cli(box, ["schedule", "ls"], { env: { COLUMNS: "80" } });
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")[1]).toStartWith(`${slug}  `);
    expect(r.stdout).toContain("…");
  });
});
