import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import type { SqliteDriver } from "../../src/driver/sqlite/index.ts";
import { MIGRATIONS } from "../../src/driver/sqlite/migrate.ts";
import { connect, defineWorker } from "../../src/index.ts";
import v1 from "../../src/driver/sqlite/0001_init.sql" with { type: "text" };
import { tempDir } from "../support/helpers.ts";
import { explainJobList } from "../support/sqlite-explain.ts";

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

test("a version 1 database upgrades in place: its jobs survive and run, listings of failed or cancelled jobs use jobs_failed", async () => {
  const dir = await tempDir();
  cleanup = () => dir.remove();
  const file = join(dir.path, "v1.db");
  const db = new Database(file, { create: true });
  db.exec(v1);
  db.run("CREATE TABLE flywheel_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  db.run("INSERT INTO flywheel_migrations VALUES (1, 0)");
  db.run(
    `INSERT INTO jobs (id, kind, state, scheduled_at, created_at, updated_at)
     VALUES ('0190a000-0000-7000-8000-000000000001', 'noop', 'available', 0, 0, 0),
            ('0190a000-0000-7000-8000-000000000002', 'noop', 'discarded', 0, 0, 0)`,
  );
  db.close();

  const fw = await connect(`sqlite:${file}`);
  const latest = MIGRATIONS.length;
  expect(await fw.migrate()).toEqual({ applied: Array.from({ length: latest - 1 }, (_, i) => i + 2) });
  expect(await fw.driver.schemaVersion()).toEqual({ current: latest, latest });
  let ran = 0;
  fw.register(defineWorker({ kind: "noop", work: () => void ran++ }));
  expect(await fw.runUntilIdle()).toBe(1);
  expect(ran).toBe(1);
  expect((await fw.listJobs({ state: "discarded" })).map((j) => j.id)).toEqual(["0190a000-0000-7000-8000-000000000002"]);
  const driver = fw.driver as SqliteDriver;
  const indexes = driver.db
    .query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs' AND name LIKE 'jobs_%' ORDER BY name")
    .all()
    .map((r) => (r as { name: string }).name);
  expect(indexes).toContain("jobs_failed");
  expect(indexes).not.toContain("jobs_state");
  expect(explainJobList(driver.db, { state: "discarded", limit: 50 })).toContain("USING INDEX jobs_failed");
  expect(explainJobList(driver.db, { state: "cancelled", kind: "noop", limit: 50 })).toContain("USING INDEX jobs_failed");
  await fw.close();
});
