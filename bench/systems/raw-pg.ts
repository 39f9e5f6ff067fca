/**
 * The PostgreSQL floor: the fewest statements any durable queue needs, through postgres.js (the client
 * flywheel uses) with no library. Claim = one `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n)
 * RETURNING`; done = one `UPDATE … WHERE id = ANY($1)`; enqueue = one `INSERT` that also `pg_notify`s.
 * No audit trail, no leases, no retries. Server defaults: fsync on, synchronous_commit on.
 * Variants: `claim1` (default), `claim100`. Wake-ups: LISTEN/NOTIFY, plus an in-process kick.
 */
import postgres from "postgres";
import { runSystem, runtimeName, wallNow, type BenchSystem, type Location, type Params } from "../lib/harness.ts";
import { startLoops, Waker } from "../lib/loops.ts";
import { DEFAULT_PG_URL, pgSchema } from "../lib/stores.ts";

function system(params: Params): BenchSystem {
  const url = params.pgUrl ?? DEFAULT_PG_URL;
  const batch = params.variant === "claim100" ? 100 : 1;
  const waker = new Waker();
  const schema = pgSchema(url, "raw");
  let schemaName = schema.name;
  let sql!: postgres.Sql;
  let stops: Array<() => Promise<void>> = [];
  let unlisten: (() => Promise<void>) | null = null;
  const channel = () => `${schemaName}_jobs`;

  const connect = (name: string, max: number) =>
    postgres(url, { max, onnotice: () => {}, connection: { search_path: name }, idle_timeout: 30 });

  const claim = async (limit: number) => {
    const rows = await sql<Array<{ id: string; args: { i: number; t?: number } }>>`
      UPDATE jobs SET state = 1 WHERE id IN (
        SELECT id FROM jobs WHERE queue = 'default' AND state = 0 AND run_at <= now()
        ORDER BY run_at, id LIMIT ${limit} FOR UPDATE SKIP LOCKED)
      RETURNING id, args`;
    return rows.map((r) => ({ id: r.id, args: r.args }));
  };
  const done = async (ids: Array<number | string>) => {
    await sql`UPDATE jobs SET state = 2 WHERE id = ANY(${ids as string[]}::bigint[])`;
  };

  return {
    info: () => ({
      version: "raw SQL (postgres.js 3.4.9)",
      runtime: runtimeName(),
      durability: "PostgreSQL fsync=on, synchronous_commit=on",
      config: `claim ${batch} per statement (FOR UPDATE SKIP LOCKED), 1 UPDATE to mark done, LISTEN/NOTIFY; no audit trail`,
    }),
    async setup(): Promise<Location> {
      sql = connect(schemaName, (params.concurrency ?? 10) + 2);
      await sql.unsafe(`CREATE SCHEMA "${schemaName}"`);
      await sql.unsafe(`CREATE TABLE jobs (id bigserial PRIMARY KEY, queue text NOT NULL, args jsonb NOT NULL,
        state smallint NOT NULL DEFAULT 0, run_at timestamptz NOT NULL DEFAULT now())`);
      await sql.unsafe("CREATE INDEX jobs_ready ON jobs (queue, run_at, id) WHERE state = 0");
      return { schema: schemaName };
    },
    async attach(location) {
      schemaName = location.schema as string;
      sql = connect(schemaName, 2);
    },
    async teardown() {
      for (const stop of stops) await stop();
      stops = [];
      if (unlisten) await unlisten();
      await sql?.end({ timeout: 5 });
      await schema.drop();
    },
    async enqueue(args) {
      await sql`WITH ins AS (INSERT INTO jobs (queue, args) VALUES ('default', ${sql.json(args)}) RETURNING 1)
                SELECT pg_notify(${channel()}, '') FROM ins`;
      waker.kick();
    },
    async enqueueMany(items) {
      await sql`WITH ins AS (INSERT INTO jobs (queue, args)
                  SELECT 'default', x FROM jsonb_array_elements(${sql.json(items)}) x RETURNING 1)
                SELECT pg_notify(${channel()}, '') FROM (SELECT 1 FROM ins LIMIT 1) one`;
      waker.kick();
    },
    async startWorkers(c, handler) {
      if (!unlisten) {
        const sub = await sql.listen(channel(), () => waker.kick());
        unlisten = () => sub.unlisten();
      }
      const stop = startLoops({ loops: c, batch, handler, waker, idleMs: 250, claim, done });
      stops.push(stop);
      return async () => {
        stops = stops.filter((s) => s !== stop);
        await stop();
      };
    },
    async completed() {
      const [row] = await sql<Array<{ n: number }>>`SELECT count(*)::int AS n FROM jobs WHERE state = 2`;
      return row!.n;
    },
    async fill(n) {
      await sql`INSERT INTO jobs (queue, args, run_at)
                SELECT 'default', jsonb_build_object('i', g), now() - interval '1 second' FROM generate_series(1, ${n}::int) g`;
      await sql`ANALYZE jobs`;
    },
    async claimOnce() {
      const t0 = wallNow();
      const rows = await claim(1);
      const ms = wallNow() - t0;
      if (rows.length > 0) await done(rows.map((r) => r.id));
      return ms;
    },
  };
}

await runSystem("raw-pg", system);
