import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { eventually } from "../support/helpers.ts";
import { cli, databaseWithJobs, garblePages, sandbox, serve, type Sandbox } from "./helpers.ts";

// SPEC §8/§21: a damaged SQLite file is reported, never mistaken for a healthy one. Each database here is real:
// migrated, holding a few hundred jobs, closed, then garbled the way a failing disk would leave it.

const JOBS = 300;

describe("a SQLite file garbled in the middle", () => {
  let box: Sandbox;
  let config: string;
  let dbPath: string;
  let damaged: Buffer;

  beforeAll(async () => {
    box = await sandbox();
    config = box.write("flywheel.yaml", "db: { sqlite: ./fw.db }\nruntime: { http_addr: off }\nlog: { format: json }\n");
    dbPath = join(box.dir, "fw.db");
    await databaseWithJobs(dbPath, JOBS);
    // Data pages past the schema (issue #11 finding 9): the file opens and migrates, and only the runner's claims
    // meet the damage, so without the start-up check serve retried them forever.
    garblePages(dbPath, 0.5, 0.7);
    damaged = readFileSync(dbPath);
  });
  afterAll(() => box.remove());

  test("doctor fails the database check naming the file and the damage, and exits 1", async () => {
    const human = await cli(box, ["doctor", "--config", config]);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(new RegExp(`^FAIL +database +the SQLite file ${escape(dbPath)} is damaged`, "m"));

    const json = await cli(box, ["doctor", "--config", config, "--json"]);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout);
    expect(report.ok).toBe(false);
    expect(report.checks.find((c: any) => c.name === "database")).toMatchObject({ status: "fail", detail: expect.stringContaining("is damaged") });
    expect(readFileSync(dbPath).equals(damaged)).toBe(true);
  });

  test("serve exits 1 with one line naming the file, before migrating or writing anything", async () => {
    // `cli` waits for the process to end: a serve that looped on the damage would time this test out.
    const result = await cli(box, ["serve", "--config", config]);
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toStartWith(`flywheel: the SQLite file ${dbPath} is damaged`);
    expect(result.stdout).toBe("");
    expect(readFileSync(dbPath).equals(damaged)).toBe(true);
  });
});

// Waits on the SQLite driver: its plain `dbCheck({})` (what /readyz runs) reads through the connection's page
// cache, which still holds the healthy pages, so the probe keeps answering 200 from memory. The fix belongs in
// src/driver/sqlite/check.ts (drop the cache before the probe's reads, e.g. `PRAGMA shrink_memory`); make this a
// `test` when it lands.
test("a running node whose file is garbled answers /readyz with 503", async () => {
  const box = await sandbox();
  const config = box.write("flywheel.yaml", "db: { sqlite: ./fw.db }\nruntime: { http_addr: off }\nlog: { format: json }\n");
  const dbPath = join(box.dir, "fw.db");
  await databaseWithJobs(dbPath, JOBS);
  const daemon = serve(box, ["--config", config, "--http-addr", "127.0.0.1:0"]);
  try {
    const base = await daemon.url();
    expect((await fetch(`${base}readyz`)).status).toBe(200);
    // Everything but page 1, so whichever pages the probe reads are damaged.
    garblePages(dbPath, 0, 1);
    const answer = await eventually(
      "/readyz to answer 503",
      async () => {
        const res = await fetch(`${base}readyz`);
        return res.status === 503 ? res.text() : undefined;
      },
      10_000,
    );
    expect(answer).toContain("is damaged");
    expect((await fetch(`${base}healthz`)).status).toBe(200);
  } finally {
    await daemon.stop("SIGKILL");
    await box.remove();
  }
}, 30_000);

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
