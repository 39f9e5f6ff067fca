import { afterAll, afterEach, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { connect, type Flywheel } from "../../src/index.ts";
import { PostgresDriver, splitSchemaParam } from "../../src/driver/postgres/index.ts";
import { MIGRATIONS } from "../../src/driver/postgres/migrate.ts";
import { AlreadyEnqueuedError, FlywheelError, ValidationError } from "../../src/core/errors.ts";
import { newId } from "../../src/core/id.ts";
import { defineWorker } from "../../src/runtime/define-worker.ts";
import { adminSql, PG_URL, pgAvailable, throwawaySchema, type ThrowawaySchema } from "../support/postgres.ts";

const missing = !(await pgAvailable());

describe("postgres: connection URL", () => {
  test("?schema= is split off; other parameters and multi-host URLs pass through untouched", () => {
    expect(splitSchemaParam("postgres://u@h/db?schema=jobs&sslmode=require")).toEqual({ url: "postgres://u@h/db?sslmode=require", schema: "jobs" });
    expect(splitSchemaParam("postgres://u@h1:5432,h2:5433/db?schema=jobs")).toEqual({ url: "postgres://u@h1:5432,h2:5433/db", schema: "jobs" });
    expect(splitSchemaParam("postgres://u@h/db?sslmode=require")).toEqual({ url: "postgres://u@h/db?sslmode=require", schema: undefined });
    expect(splitSchemaParam("postgres://u@h/db")).toEqual({ url: "postgres://u@h/db", schema: undefined });
  });

  test.each(["bad-name", 'a"b', "1abc", "", "x".repeat(59), "jobs; DROP TABLE users"])("schema %p is refused before anything touches the database", (name) => {
    let error: unknown;
    try {
      PostgresDriver.open(`postgres://127.0.0.1:1/none?schema=${encodeURIComponent(name)}`);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FlywheelError);
    expect((error as FlywheelError).code).toBe("config_invalid");
  });

  test("a schema option that contradicts the URL is refused", () => {
    expect(() => PostgresDriver.open("postgres://127.0.0.1:1/none?schema=a", { schema: "b" })).toThrow(/names schema "a" but the schema option is "b"/);
  });
});

describe.skipIf(missing)("postgres: driver specifics", () => {
  let schema: ThrowawaySchema;
  const open: Flywheel[] = [];
  const sql = adminSql();
  afterAll(() => sql.end({ timeout: 1 }));
  afterEach(async () => {
    for (const fw of open.splice(0)) await fw.close();
    await schema.drop();
  });

  async function fresh(url = (schema = throwawaySchema()).url): Promise<Flywheel> {
    const fw = await connect(url);
    open.push(fw);
    return fw;
  }

  test("tables live in their own schema; migrate is idempotent and safe from several nodes at once", async () => {
    schema = throwawaySchema();
    const nodes = await Promise.all([0, 1, 2, 3].map(() => fresh(schema.url)));
    const results = await Promise.all(nodes.map((fw) => fw.migrate()));
    const latest = MIGRATIONS.length;
    expect(results.map((r) => r.applied).flat()).toEqual(Array.from({ length: latest }, (_, i) => i + 1));
    expect(await nodes[0]!.migrate()).toEqual({ applied: [] });
    expect(await nodes[0]!.driver.schemaVersion()).toEqual({ current: latest, latest });
    const tables = await sql`SELECT table_name FROM information_schema.tables WHERE table_schema = ${schema.name} ORDER BY table_name`;
    expect(tables.map((t) => t.table_name)).toEqual(["flywheel_migrations", "job_bindings", "job_breakers", "job_events", "job_history", "job_limit_starts", "job_limits", "job_nodes", "job_periodics", "job_queues", "job_runs", "job_steps", "job_waits", "jobs"]);
  });

  test("a schema newer than the code knows is refused with schema_too_new", async () => {
    const fw = await fresh();
    await fw.migrate();
    await sql.unsafe(`INSERT INTO "${schema.name}".flywheel_migrations (version, applied_at) VALUES (${MIGRATIONS.length + 1}, now())`);
    const error = await fw.migrate().catch((e) => e);
    expect(error).toBeInstanceOf(FlywheelError);
    expect(error.code).toBe("schema_too_new");
    expect(await fw.driver.schemaVersion()).toEqual({ current: MIGRATIONS.length + 1, latest: MIGRATIONS.length });
  });

  test("URL query parameters other than schema reach the server", async () => {
    schema = throwawaySchema();
    const app = `fw_url_${newId().slice(-8)}`;
    const fw = await fresh(`${schema.url}&application_name=${app}`);
    await fw.migrate();
    const [row] = await sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = ${app}`;
    expect(row!.n).toBeGreaterThan(0);
  });

  test("an app's own postgres.js handle: the outbox takes its TransactionSql as is, and close() leaves the pool open", async () => {
    schema = throwawaySchema();
    const appSql = postgres(PG_URL, { max: 2, onnotice: () => {} });
    try {
      const fw = await connect({ postgres: appSql }, { schema: schema.name });
      await fw.migrate();
      const id = await appSql.begin(async (tx) => {
        await tx`SELECT 1`;
        return fw.insert("noop", { via: "tx" }, { tx });
      });
      expect((await fw.findJob(id)).args).toEqual({ via: "tx" });
      await fw.close();
      expect((await appSql`SELECT 1 AS ok`)[0]!.ok).toBe(1);
    } finally {
      await appSql.end({ timeout: 1 });
    }
  });

  test("a handle that renames columns (transform) is refused with a clear error", async () => {
    schema = throwawaySchema();
    const camel = postgres(PG_URL, { max: 1, transform: postgres.camel });
    try {
      const error = await connect({ postgres: camel }, { schema: schema.name }).catch((e) => e);
      expect(error).toBeInstanceOf(FlywheelError);
      expect(error.code).toBe("config_invalid");
    } finally {
      await camel.end({ timeout: 1 });
    }
  });

  test("concurrent inserts of one unique key from two pools: one job, the loser gets AlreadyEnqueuedError naming it", async () => {
    const a = await fresh();
    await a.migrate();
    const b = await fresh(schema.url);
    for (let round = 0; round < 20; round++) {
      const key = `race-${round}`;
      const results = await Promise.allSettled([a.insert("noop", {}, { uniqueKey: key }), b.insert("noop", {}, { uniqueKey: key })]);
      const won = results.filter((r) => r.status === "fulfilled").map((r) => (r as PromiseFulfilledResult<string>).value);
      const lost = results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason);
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]).toBeInstanceOf(AlreadyEnqueuedError);
      expect(lost[0].existingId).toBe(won[0]);
    }
  });

  test("a finalize retried after its reply was lost changes nothing and reports what was recorded", async () => {
    const fw = await fresh();
    await fw.migrate();
    const id = await fw.insert("noop", {});
    const now = new Date();
    const [job] = await fw.driver.jobClaim({ queues: ["default"], executorClasses: null, limit: 1, now, leasedUntil: new Date(now.getTime() + 30_000), leaseToken: newId(), executorId: "x" });
    const item = {
      jobId: id,
      runId: job!.runId,
      leaseToken: job!.leaseToken!,
      run: { outcome: "success" as const, errorClass: null, errorMessage: null, output: { n: 1 }, finishedAt: now, durationMs: 3, costMicros: 7 },
      job: { state: "succeeded" as const, scheduledAt: null, maxAttemptsDelta: 0 },
      followUps: [fw.runtime.builder.build("noop", { child: true }, {}, now)],
    };
    const first = await fw.driver.jobFinalize({ items: [item], now });
    expect(first).toEqual([{ applied: true, outcome: "success", children: [{ inserted: true, id: item.followUps[0]!.id }] }]);
    const again = await fw.driver.jobFinalize({ items: [item], now });
    expect(again).toEqual([{ applied: true, outcome: "success", children: [] }]);
    expect((await fw.listRuns(id)).map((r) => [r.outcome, r.enqueuedChildren, r.costMicros])).toEqual([["success", 1, 7]]);
    expect((await fw.listJobs({ kind: "noop" })).length).toBe(2);
  });

  test("what PostgreSQL cannot store: refused in args at insert, replaced in outputs and errors so a finalize never fails on it", async () => {
    const fw = await fresh();
    await fw.migrate();
    const refused = await fw.insert("noop", { text: "a\u0000b" }).catch((e) => e);
    expect(refused).toBeInstanceOf(ValidationError);
    expect(refused.message).toContain("NUL");
    // Text that merely looks like an escape is fine.
    const literal = await fw.insert("noop", { path: "C:\\u0000", pair: "\u{1F600}" });
    expect((await fw.findJob(literal)).args).toEqual({ path: "C:\\u0000", pair: "\u{1F600}" });

    fw.register(defineWorker({ kind: "binary", work: () => ({ output: { stdout: "x\u0000y\ud800z", ok: "\u{1F600}" } }) }));
    fw.register(defineWorker({ kind: "nul-error", work: () => Promise.reject(new Error("bad\u0000byte")) }));
    const a = await fw.insert("binary", {});
    const b = await fw.insert("nul-error", {}, { maxAttempts: 1 });
    expect(await fw.runUntilIdle()).toBe(3);
    expect((await fw.listRuns(a))[0]).toMatchObject({ outcome: "success", output: { stdout: "x\ufffdy\ufffdz", ok: "\u{1F600}" } });
    expect((await fw.listRuns(b))[0]).toMatchObject({ outcome: "error", errorMessage: "bad\ufffdbyte" });
  });
  test("claims and finalizes keep to two connections of their own however wide other reads have made the pool", async () => {
    const fw = await fresh();
    await fw.migrate();
    fw.register(defineWorker({ kind: "lane", work: () => {} }));
    const pool = (fw.driver as PostgresDriver).sql;
    // Ten reads at once open all ten of the pool's connections; postgres.js then hands out the one idle longest.
    await Promise.all(Array.from({ length: 10 }, () => pool`SELECT pg_sleep(0.05)`));
    await fw.insertMany(Array.from({ length: 30 }, (_, i) => ({ kind: "lane", args: { i } })));
    expect(await fw.runUntilIdle()).toBe(30);
    // Each backend shows its last statement. Had the job path's 30-odd statements gone through the pool, they
    // would have visited every one of its connections in turn; as it is, only the one that took the insert moved.
    const backends = await sql<Array<{ query: string }>>`
      SELECT query FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'flywheel'`;
    expect(backends.filter((b) => b.query === "SELECT pg_sleep(0.05)").length).toBe(9);
    // The pool's ten, LISTEN's one, and the lane's (at most two).
    expect(backends.length).toBeGreaterThanOrEqual(12);
    expect(backends.length).toBeLessThanOrEqual(13);
  });

  test("connections the driver opens after its first statement skip postgres.js's read of the array types", async () => {
    // That read's promise has no handler in postgres.js: a connection killed during it (an outage, a restart)
    // was an unhandled rejection, and the node's process exited 1 after a clean stop.
    schema = throwawaySchema();
    const app = `fw_types_${schema.name.slice(-12)}`;
    const typeReads: Array<"pool" | "lane"> = [];
    // The app's own pool, wide enough to have a lane beside it. The lane is opened from a copy of its options, debug
    // hook included, and postgres.js calls the hook on the options object: `this` tells the two apart.
    const appSql: postgres.Sql<any> = postgres(PG_URL, {
      max: 4,
      onnotice: () => {},
      connection: { application_name: app },
      debug(this: unknown, _connection: number, query: string) {
        if (query.includes("pg_catalog.pg_type")) typeReads.push(this === appSql.options ? "pool" : "lane");
      },
    });
    const again = <T>(call: () => Promise<T>) => call().catch(() => call());
    try {
      const fw = await connect({ postgres: appSql }, { schema: schema.name });
      fw.register(defineWorker({ kind: "typed", work: () => {} }));
      await fw.migrate();
      await fw.insertMany(Array.from({ length: 5 }, (_, i) => ({ kind: "typed", args: { i } })));
      expect(await fw.runUntilIdle()).toBe(5);
      // The pool's first connection read the types; by the lane's first, the driver had turned the reads off.
      expect(typeReads).toEqual(["pool"]);
      // Every connection of the app goes; the job path's next statements open the lane's afresh.
      const killed = await sql`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = ${app}`;
      expect(killed.length).toBeGreaterThanOrEqual(2);
      await again(() => fw.insertMany(Array.from({ length: 5 }, (_, i) => ({ kind: "typed", args: { i } }))));
      // Claims and finalizes on new connections still read arrays right (a finalize's outcomes come back as text[]).
      expect(await fw.runUntilIdle()).toBe(5);
      expect((await fw.listJobs({ kind: "typed", state: "succeeded" })).length).toBe(10);
      // The app's pool is left as the app set it and may read them again; the lane never does.
      expect(typeReads.filter((who) => who === "lane")).toEqual([]);
      await fw.close();
    } finally {
      await appSql.end({ timeout: 1 });
    }
  });
});
