import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { connect, type Flywheel } from "../../src/index.ts";
import { defineWorker } from "../../src/runtime/define-worker.ts";
import { deferred, eventually } from "../support/helpers.ts";
import { adminSql, pgAvailable, throwawaySchema, type ThrowawaySchema } from "../support/postgres.ts";

const missing = !(await pgAvailable());

describe.skipIf(missing)("postgres: NOTIFY wakes idle nodes on other connections", () => {
  let schema: ThrowawaySchema;
  const sql = adminSql();
  const open: Flywheel[] = [];
  afterAll(() => sql.end({ timeout: 1 }));
  afterEach(async () => {
    for (const fw of open.splice(0)) await fw.close();
    await schema.drop();
  });

  /** The backend pid of the node's LISTEN connection, once it is listening. */
  async function listenerPid(app: string, not?: number): Promise<number> {
    let pid = 0;
    await eventually("the node to LISTEN", async () => {
      const [row] = await sql.unsafe(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query ILIKE 'listen %' AND pid <> $2",
        [app, not ?? 0],
      );
      pid = row?.pid ?? 0;
      return pid !== 0;
    }, 10_000, 10);
    return pid;
  }

  test("an idle node polling every 10 s starts a job enqueued by another connection well under 1 s later, also after its LISTEN connection was killed", async () => {
    schema = throwawaySchema();
    const app = `fw_notify_${schema.name.slice(-12)}`;
    const idle = await connect(`${schema.url}&application_name=${app}`);
    const producer = await connect(schema.url);
    open.push(idle, producer);
    await idle.migrate();

    let started = deferred<number>();
    idle.register(defineWorker({ kind: "ping", work: () => started.resolve(performance.now()) }));
    const stop = new AbortController();
    const running = idle.node({ runners: [{ queues: ["default"], pollInterval: "10s" }], scheduler: false }).run(stop.signal);
    const firstPid = await listenerPid(app);

    // The producer is another pool (as another process would be): only PostgreSQL NOTIFY can wake the idle node.
    const measure = async () => {
      started = deferred<number>();
      const t0 = performance.now();
      await producer.insert("ping", {});
      return (await started.promise) - t0;
    };
    const first = await measure();
    expect(first).toBeLessThan(1_000);

    // postgres.js re-issues LISTEN on a new connection after losing the old one.
    await sql.unsafe("SELECT pg_terminate_backend($1)", [firstPid]);
    await listenerPid(app, firstPid);
    const afterReconnect = await measure();
    expect(afterReconnect).toBeLessThan(1_000);

    stop.abort();
    await running;
    console.log(`notify: enqueue-to-start ${first.toFixed(1)} ms; after LISTEN reconnect ${afterReconnect.toFixed(1)} ms (poll interval 10 s)`);
  }, 30_000);

  test("an insert inside the caller's transaction wakes listeners only when it commits", async () => {
    schema = throwawaySchema();
    const fw = await connect(schema.url);
    open.push(fw);
    await fw.migrate();
    const listener = adminSql({ max: 1 });
    const heard: string[] = [];
    await listener.listen(`${schema.name}_jobs`, (queue) => heard.push(queue));
    const app = adminSql({ max: 1 });
    try {
      await app.begin(async (tx) => {
        await fw.insert("noop", {}, { tx, queue: "outbox" });
        // Notifications arrive in commit order: once a marker committed after the insert has arrived, the
        // insert's own notification would have too, had it been sent before COMMIT.
        await sql.notify(`${schema.name}_jobs`, "before-commit");
        await eventually("the marker notification", async () => heard.includes("before-commit"), 5_000, 10);
        expect(heard).toEqual(["before-commit"]);
      });
      await eventually("the notification after commit", async () => heard.includes("outbox"), 5_000, 10);
      expect(heard).toEqual(["before-commit", "outbox"]);
      const rolledBack = await app
        .begin(async (tx) => {
          await fw.insert("noop", {}, { tx, queue: "never" });
          throw new Error("rollback");
        })
        .catch((e: Error) => e.message);
      expect(rolledBack).toBe("rollback");
      // A marker notification sent after the rollback arrives; the rolled-back insert's never does.
      await app.notify(`${schema.name}_jobs`, "marker");
      await eventually("the marker notification", async () => heard.includes("marker"), 5_000, 10);
      expect(heard).toEqual(["before-commit", "outbox", "marker"]);
    } finally {
      await listener.end({ timeout: 1 });
      await app.end({ timeout: 1 });
    }
  });
});
