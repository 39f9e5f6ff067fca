import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import type { SqliteDriver } from "../../src/driver/sqlite/index.ts";
import { MIGRATIONS } from "../../src/driver/sqlite/migrate.ts";
import { connect, defineWorker } from "../../src/index.ts";
import v1 from "../../src/driver/sqlite/0001_init.sql" with { type: "text" };
import { tempDir } from "../support/helpers.ts";
import { explainClaim, explainJobList } from "../support/sqlite-explain.ts";
import { claimAt } from "../support/sqlite.ts";

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

test("a version 1 database upgrades in place through the v4 rebuild: its jobs and runs survive, jobs run, the indexes are rebuilt", async () => {
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
  db.run(
    `INSERT INTO job_runs (id, job_id, attempt, executor_id, started_at, finished_at, outcome, error_class, error_message, created_at)
     VALUES ('0190a000-0000-7000-8000-0000000000r2', '0190a000-0000-7000-8000-000000000002', 1, 'old-node', 0, 5, 'error', 'permanent', 'boom', 0)`,
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
  // v4 rebuilt jobs and job_runs: the old rows carry the new columns' defaults, and the old run is intact.
  expect(await fw.driver.jobGet({ id: "0190a000-0000-7000-8000-000000000002" })).toMatchObject({
    state: "discarded",
    rootJobId: null,
    waitReason: null,
    wakeAt: null,
    wakeSeq: 0,
  });
  expect(await fw.driver.runList({ jobId: "0190a000-0000-7000-8000-000000000002" })).toMatchObject([
    { id: "0190a000-0000-7000-8000-0000000000r2", attempt: 1, outcome: "error", errorClass: "permanent", errorMessage: "boom", executorId: "old-node" },
  ]);
  const driver = fw.driver as SqliteDriver;
  const indexes = driver.db
    .query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs' AND name LIKE 'jobs_%' ORDER BY name")
    .all()
    .map((r) => (r as { name: string }).name);
  expect(indexes).toEqual(["jobs_failed", "jobs_finalized", "jobs_parent", "jobs_ready", "jobs_root", "jobs_sweep", "jobs_unique_active_key", "jobs_unique_key"]);
  expect(explainClaim(driver.db, claimAt(new Date(), { queues: ["default"] }))).toContain("USING INDEX jobs_ready (queue=?)");
  expect(explainJobList(driver.db, { state: "discarded", limit: 50 })).toContain("USING INDEX jobs_failed");
  expect(explainJobList(driver.db, { state: "cancelled", kind: "noop", limit: 50 })).toContain("USING INDEX jobs_failed");
  await fw.close();
});
