/**
 * The SQLite floor: the fewest statements any durable queue needs, through bun:sqlite with no library.
 * Claim = one `UPDATE … WHERE id IN (SELECT … ORDER BY run_at LIMIT n) RETURNING` in a `BEGIN IMMEDIATE`
 * transaction; done = one `UPDATE` (all ids of the batch at once). No audit trail, no leases, no retries.
 * Same durability as flywheel's default: WAL, synchronous=NORMAL. Variants: `claim1` (default), `claim100`.
 * Cross-process wake-ups poll `PRAGMA data_version` every 10 ms, as flywheel does by default.
 */
import { Database } from "bun:sqlite";
import { runSystem, runtimeName, wallNow, type BenchSystem, type Location, type Params } from "../lib/harness.ts";
import { startLoops, Waker, type ClaimedRow } from "../lib/loops.ts";
import { sqliteDir } from "../lib/stores.ts";

const WAKE_POLL_MS = 10;

function open(file: string): Database {
  const db = new Database(file, { create: true, strict: true });
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA synchronous = NORMAL");
  db.run("PRAGMA busy_timeout = 5000");
  return db;
}

function system(params: Params): BenchSystem {
  const batch = params.variant === "claim100" ? 100 : 1;
  const waker = new Waker();
  let dir: ReturnType<typeof sqliteDir> | null = null;
  let db!: Database;
  let stops: Array<() => Promise<void>> = [];
  let poll: ReturnType<typeof setInterval> | null = null;

  const statements = () => ({
    insert: db.query("INSERT INTO jobs (queue, args, state, run_at) VALUES ('default', ?, 0, ?)"),
    claim: db.query(
      `UPDATE jobs SET state = 1 WHERE id IN
         (SELECT id FROM jobs WHERE queue = 'default' AND state = 0 AND run_at <= ? ORDER BY run_at, id LIMIT ?)
       RETURNING id, args`,
    ),
    done: db.query("UPDATE jobs SET state = 2 WHERE id IN (SELECT value FROM json_each(?))"),
    doneOne: db.query("UPDATE jobs SET state = 2 WHERE id = ?"),
    count: db.query("SELECT count(*) AS n FROM jobs WHERE state = 2"),
  });
  let q!: ReturnType<typeof statements>;

  const claim = (limit: number): ClaimedRow[] =>
    db.transaction(() => {
      const rows = q.claim.all(Date.now(), limit) as Array<{ id: number; args: string }>;
      return rows.map((r) => ({ id: r.id, args: JSON.parse(r.args) }));
    }).immediate();

  return {
    info: () => ({
      version: `raw SQL (bun:sqlite, SQLite ${(new Database(":memory:").query("select sqlite_version() v").get() as { v: string }).v})`,
      runtime: runtimeName(),
      durability: "SQLite WAL, synchronous=NORMAL",
      config: `claim ${batch} per statement, 1 UPDATE to mark done; no audit trail`,
    }),
    async setup(): Promise<Location> {
      dir = sqliteDir("raw");
      db = open(dir.file);
      db.run(`CREATE TABLE jobs (id INTEGER PRIMARY KEY, queue TEXT NOT NULL, args TEXT NOT NULL,
                state INTEGER NOT NULL DEFAULT 0, run_at INTEGER NOT NULL)`);
      db.run("CREATE INDEX jobs_ready ON jobs (queue, run_at, id) WHERE state = 0");
      q = statements();
      return { file: dir.file };
    },
    async attach(location) {
      db = open(location.file as string);
      q = statements();
    },
    async teardown() {
      for (const stop of stops) await stop();
      stops = [];
      if (poll) clearInterval(poll);
      db?.close(false);
      dir?.remove();
    },
    async enqueue(args) {
      q.insert.run(JSON.stringify(args), Date.now());
      waker.kick();
    },
    async enqueueMany(items) {
      const now = Date.now();
      db.transaction(() => {
        for (const args of items) q.insert.run(JSON.stringify(args), now);
      }).immediate();
      waker.kick();
    },
    async startWorkers(c, handler, opts) {
      if (opts.latency && !poll) {
        let version = (db.query("PRAGMA data_version").get() as { data_version: number }).data_version;
        poll = setInterval(() => {
          const v = (db.query("PRAGMA data_version").get() as { data_version: number }).data_version;
          if (v !== version) {
            version = v;
            waker.kick();
          }
        }, WAKE_POLL_MS);
      }
      const stop = startLoops({
        loops: c,
        batch,
        handler,
        waker,
        idleMs: 250,
        claim: async (limit) => claim(limit),
        done: async (ids) => {
          if (ids.length === 1) q.doneOne.run(ids[0]!);
          else q.done.run(JSON.stringify(ids));
        },
      });
      stops.push(stop);
      return async () => {
        stops = stops.filter((s) => s !== stop);
        await stop();
      };
    },
    async completed() {
      return (q.count.get() as { n: number }).n;
    },
    async fill(n) {
      const now = Date.now() - 1000;
      db.run(
        `INSERT INTO jobs (queue, args, state, run_at)
         WITH RECURSIVE s(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM s WHERE x + 1 < ?)
         SELECT 'default', '{"i":' || x || '}', 0, ? FROM s`,
        [n, now],
      );
    },
    async claimOnce() {
      const t0 = wallNow();
      const rows = claim(1);
      const ms = wallNow() - t0;
      if (rows[0]) q.doneOne.run(rows[0].id);
      return ms;
    },
  };
}

await runSystem("raw-sqlite", system);
