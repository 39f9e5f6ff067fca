import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { connect, type Flywheel, type JobState } from "../../src/index.ts";
import { FixedClock } from "../../src/core/clock.ts";
import type { SqliteDriver } from "../../src/driver/sqlite/index.ts";
import { CENSUS_CHUNK_ROWS } from "../../src/driver/sqlite/read.ts";
import { tempDir } from "../support/helpers.ts";

// The SQLite census reads the table in rowid chunks and yields between them: it must count every job once across
// chunk boundaries and gaps, and let the event loop run while it counts.
let fw: Flywheel;
let dir: Awaited<ReturnType<typeof tempDir>>;
const JOBS = CENSUS_CHUNK_ROWS * 2 + 1_234;
const now = new Date(Date.now() - 60_000);

beforeAll(async () => {
  dir = await tempDir();
  fw = await connect(`sqlite:${join(dir.path, "census.db")}`, { clock: new FixedClock(now) });
  await fw.migrate();
  for (let start = 0; start < JOBS; start += 10_000) {
    const n = Math.min(10_000, JOBS - start);
    await fw.insertMany(Array.from({ length: n }, (_, i) => ({ kind: (start + i) % 3 === 0 ? "a" : "b", options: { queue: (start + i) % 2 ? "q1" : "q2" } })));
  }
  const db = (fw.driver as SqliteDriver).db;
  // A gap wider than a chunk, and a soft-deleted job and a finished one on either side of a boundary.
  db.run("DELETE FROM jobs WHERE rowid > ? AND rowid <= ?", [1_000, 1_000 + CENSUS_CHUNK_ROWS + 10]);
  db.run("UPDATE jobs SET deleted_at = ? WHERE rowid = ?", [now.getTime(), CENSUS_CHUNK_ROWS * 2]);
  db.run("UPDATE jobs SET state = 'succeeded', finalized_at = ? WHERE rowid = ?", [now.getTime(), CENSUS_CHUNK_ROWS * 2 + 1]);
}, 60_000);

afterAll(async () => {
  await fw.close();
  await dir.remove();
});

test("jobCensus counts every live job once across chunks and gaps, as one GROUP BY does", async () => {
  const db = (fw.driver as SqliteDriver).db;
  const expected = db
    .query("SELECT kind, queue, state, count(*) AS count FROM jobs WHERE deleted_at IS NULL GROUP BY kind, queue, state ORDER BY kind, queue, state")
    .all() as Array<{ kind: string; queue: string; state: JobState; count: number }>;
  const census = (await fw.jobCensus()).sort((x, y) => `${x.kind}/${x.queue}/${x.state}`.localeCompare(`${y.kind}/${y.queue}/${y.state}`));
  expect(census.map(({ kind, queue, state, count }) => ({ kind, queue, state, count }))).toEqual(expected);
  expect(census.reduce((n, r) => n + r.count, 0)).toBe(JOBS - CENSUS_CHUNK_ROWS - 10 - 1);
  const ready = census.filter((r) => r.state === "available").reduce((n, r) => n + r.ready, 0);
  expect(ready).toBe((await fw.queueHealth()).ready);
});

test("jobCensus yields to the event loop between chunks", async () => {
  let turns = 0;
  const tick = setInterval(() => turns++, 0);
  try {
    await fw.jobCensus();
  } finally {
    clearInterval(tick);
  }
  expect(turns).toBeGreaterThan(0);
});
