/**
 * flywheel itself, through its public API (`connect`, `insert`, `insertMany`, `node().run`), default
 * configuration, audit trail on (every attempt writes a `job_runs` row: a `started` stub at claim, its
 * outcome at finalize). Params: `dialect` (`sqlite` | `postgres`) and `variant`:
 * - sqlite `normal` (default): WAL, synchronous=NORMAL (flywheel's default);
 * - sqlite `full`: `connect(url, { synchronous: "full" })`, every commit survives power loss (stricter);
 * - postgres `default`: server defaults (fsync on, synchronous_commit on);
 * - postgres `async`: opt-in faster mode: the caller's postgres.js handle with `synchronous_commit=off`
 *   (a crash of the *server* may lose the last ~600 ms of commits; never corrupts). Reported separately.
 * Completions are counted on a separate connection; scaling fills the table with SQL (then ANALYZE on
 * PostgreSQL, as autovacuum would; on SQLite only with `analyze: true`) and times `driver.jobClaim` (the
 * claim statement plus its run stubs) directly.
 * Workflows (`defineWorkflow`, see bench/lib/workflows.ts): `wf_drain` runs its no-op steps (`ctx.step`),
 * `wf_sleep` sleeps (`ctx.sleep`) then runs a step, `wf_wait` waits for event `go` (`ctx.waitForEvent`, sent
 * with `fw.emit`) then runs a step. They run on the same node settings as the no-op jobs.
 * With `dashboard: true` (bench/control-plane.ts), setup also opens a dashboard on the client (bench/lib/dashboard.ts:
 * a second node serving the HTTP API, a client process holding the event stream and polling the overview every
 * second), and the drain's metrics add what that client saw.
 */
import postgres from "postgres";
import { connect, defineWorker, defineWorkflow, type Flywheel, type WorkflowContext } from "../../src/index.ts";
import type { ClaimedJob, FinalizeItem } from "../../src/driver/types.ts";
import { newId } from "../../src/core/id.ts";
import { VERSION } from "../../src/core/version.ts";
import { WORKLOADS, runSystem, runtimeName, skip, until, wallNow, type BenchSystem, type Handler, type Location, type Params, registerStop } from "../lib/harness.ts";
import { openDashboard, type OpenDashboard } from "../lib/dashboard.ts";
import { WORKFLOW_WORKLOADS, type WorkflowHooks } from "../lib/workflows.ts";
import { DEFAULT_PG_URL, pgSchema, sqliteDir } from "../lib/stores.ts";
import { Database } from "bun:sqlite";

/** The dashboard `dashboard: true` opened in setup, until teardown. */
let dashboard: OpenDashboard | null = null;

function system(params: Params): BenchSystem {
  const dialect = params.dialect === "postgres" ? "postgres" : "sqlite";
  const variant = params.variant ?? (dialect === "sqlite" ? "normal" : "default");
  const pgUrl = params.pgUrl ?? DEFAULT_PG_URL;
  const schema = pgSchema(pgUrl, `fw_${variant}`);
  let schemaName = schema.name;
  let dir: ReturnType<typeof sqliteDir> | null = null;
  let file = "";
  let fw: Flywheel | null = null;
  let ownSql: postgres.Sql | null = null;
  let counter: { count(kind: string): Promise<number>; close(): Promise<void> } | null = null;
  let handler: Handler = () => {};
  let hooks: WorkflowHooks = { onStep() {}, onResume() {} };
  let stops: Array<() => Promise<void>> = [];
  /** Workflow runs whose attempt ended suspended (their wait is stored). */
  const suspended = new Set<string>();

  const noop = defineWorker({
    kind: "noop",
    async work(job) {
      handler(job.args as { i: number; t?: number });
    },
  });
  const drainFlow = defineWorkflow({
    kind: "wf_drain",
    async run(ctx, args) {
      const { steps } = args as { steps: number };
      for (let k = 0; k < steps; k++) {
        await ctx.step(`s${k}`, () => {
          hooks.onStep();
          return k;
        });
      }
    },
  });
  /** The step after a sleep or a wait: its start is what the latency workloads time. */
  const resumed = (ctx: WorkflowContext, i: number) =>
    ctx.step("after", () => {
      hooks.onResume(i, wallNow());
      return null;
    });
  const sleeper = defineWorkflow({
    kind: "wf_sleep",
    async run(ctx, args) {
      const { i, ms } = args as { i: number; ms: number };
      await ctx.sleep("nap", ms);
      await resumed(ctx, i);
    },
  });
  const waiter = defineWorkflow({
    kind: "wf_wait",
    async run(ctx, args) {
      await ctx.waitForEvent("go");
      await resumed(ctx, (args as { i: number }).i);
    },
  });

  const open = async (): Promise<Flywheel> => {
    let client: Flywheel;
    if (dialect === "sqlite") {
      client = await connect(`sqlite:${file}`, { synchronous: variant === "full" ? "full" : "normal" });
    } else {
      try {
        if (variant === "async") {
          ownSql = postgres(pgUrl, { max: 10, onnotice: () => {}, connection: { synchronous_commit: "off" } });
          client = await connect({ postgres: ownSql }, { schema: schemaName });
        } else {
          client = await connect(pgUrl, { schema: schemaName });
        }
      } catch (error) {
        const message = (error as Error).message;
        if (/cannot find module|ERR_MODULE_NOT_FOUND/i.test(message)) {
          throw skip(`flywheel's PostgreSQL driver is not available yet (${message.split("\n")[0]})`);
        }
        throw error;
      }
    }
    client.register(noop, drainFlow, sleeper, waiter);
    client.events.on("job:finished", (e) => {
      if (e.outcome === "suspended") suspended.add(e.job.id);
    });
    return client;
  };

  const openCounter = () => {
    if (dialect === "sqlite") {
      const db = new Database(file, { readonly: true });
      db.run("PRAGMA busy_timeout = 5000");
      const q = db.query("SELECT count(*) AS n FROM jobs WHERE state = 'succeeded' AND kind = ?1");
      return { count: async (kind: string) => (q.get(kind) as { n: number }).n, close: async () => db.close(false) };
    }
    const sql = postgres(pgUrl, { max: 1, onnotice: () => {}, connection: { search_path: schemaName } });
    return {
      count: async (kind: string) => (await sql<Array<{ n: number }>>`SELECT count(*)::int AS n FROM jobs WHERE state = 'succeeded' AND kind = ${kind}`)[0]!.n,
      close: () => sql.end({ timeout: 5 }),
    };
  };

  const durability =
    dialect === "sqlite"
      ? variant === "full"
        ? "SQLite WAL, synchronous=FULL (opt-in; survives power loss)"
        : "SQLite WAL, synchronous=NORMAL (default)"
      : variant === "async"
        ? "PostgreSQL fsync=on, synchronous_commit=off (opt-in per connection; server crash may lose last commits)"
        : "PostgreSQL fsync=on, synchronous_commit=on (default)";

  const startNode = async (c: number) => {
    const controller = new AbortController();
    const node = fw!.node({ runners: [{ queues: ["default"], concurrency: c, prefetch: Number(params.prefetch ?? 0) }], scheduler: false });
    const running = node.run(controller.signal);
    return registerStop(stops, async () => {
      controller.abort();
      await running;
    });
  };

  return {
    info: () => ({
      version: `flywheel ${VERSION}`,
      runtime: runtimeName(),
      durability,
      config:
        "defaults: runner concurrency as given, 250 ms idle poll (backing off to 2 s), 30 s lease; audit trail (job_runs) on; scheduler off" +
        (params.dashboard ? "; a dashboard open: HTTP API node + client on the event stream, overview every 1 s" : ""),
    }),
    async setup(): Promise<Location> {
      if (dialect === "sqlite") {
        dir = sqliteDir("flywheel");
        file = dir.file;
      }
      fw = await open();
      await fw.migrate();
      counter = openCounter();
      if (params.dashboard) dashboard = await openDashboard(fw);
      return { file, schema: schemaName };
    },
    async attach(location) {
      file = location.file as string;
      schemaName = location.schema as string;
      fw = await open();
    },
    async teardown() {
      for (const stop of stops) await stop();
      stops = [];
      await dashboard?.close();
      await counter?.close();
      await fw?.close();
      await ownSql?.end({ timeout: 5 });
      if (dialect === "postgres") await schema.drop();
      dir?.remove();
    },
    async enqueue(args) {
      await fw!.insert("noop", args);
    },
    async enqueueMany(items) {
      await fw!.insertMany(items.map((args) => ({ kind: "noop", args })));
    },
    async startWorkers(c, h) {
      handler = h;
      return startNode(c);
    },
    async completed() {
      return counter!.count("noop");
    },
    async fill(n) {
      const now = Date.now() - 1000;
      if (dialect === "sqlite") {
        const db = new Database(file);
        db.run("PRAGMA busy_timeout = 5000");
        db.run(
          `INSERT INTO jobs (id, kind, queue, args, priority, state, attempt, max_attempts, scheduled_at,
             executor_class, tags, metadata, created_at, updated_at)
           WITH RECURSIVE s(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM s WHERE x + 1 < ?1)
           SELECT printf('00000000-0000-7000-8000-%012d', x), 'noop', 'default', '{"i":' || x || '}', 100, 'available',
             0, 25, ?2, '', '[]', '{}', ?2, ?2 FROM s`,
          [n, now],
        );
        // flywheel never runs ANALYZE itself; `analyze` shows the plan a user's `PRAGMA optimize` would give.
        if (params.analyze) db.run("ANALYZE");
        db.close(false);
        return;
      }
      const sql = postgres(pgUrl, { max: 1, onnotice: () => {}, connection: { search_path: schemaName } });
      try {
        await sql`INSERT INTO jobs (id, kind, queue, args, priority, state, attempt, max_attempts, scheduled_at,
                    executor_class, tags, metadata, created_at, updated_at)
                  SELECT '00000000-0000-7000-8000-' || lpad(g::text, 12, '0'), 'noop', 'default', jsonb_build_object('i', g),
                    100, 'available', 0, 25, ${new Date(now)}, '', '[]', '{}', ${new Date(now)}, ${new Date(now)}
                  FROM generate_series(1, ${n}::int) g`;
        await sql`ANALYZE jobs`;
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
    async claimOnce() {
      const driver = fw!.driver;
      const now = new Date();
      const t0 = wallNow();
      const jobs = await driver.jobClaim({
        queues: ["default"],
        executorClasses: [""],
        limit: 1,
        now,
        leasedUntil: new Date(now.getTime() + 30_000),
        leaseToken: newId(),
        executorId: fw!.executorId,
      });
      const ms = wallNow() - t0;
      if (jobs.length > 0) await driver.jobFinalize({ items: jobs.map(success), now: new Date() });
      return ms;
    },
    workflows: {
      async enqueueRuns(n, steps) {
        for (let start = 0; start < n; start += 5000) {
          await fw!.insertMany(Array.from({ length: Math.min(5000, n - start) }, (_, k) => ({ kind: drainFlow.kind, args: { i: start + k, steps } })));
        }
      },
      completedRuns: () => counter!.count(drainFlow.kind),
      async startWorkflowWorkers(c, h) {
        hooks = h;
        return startNode(c);
      },
      startSleeper: (i, ms) => fw!.insert(sleeper, { i, ms }),
      async wakeTimeOf(id) {
        const nap = (await fw!.listSteps(id)).find((step) => step.key === "nap");
        if (!nap?.wakeAt) throw new Error(`run ${id} stored no wake time`);
        return nap.wakeAt.getTime();
      },
      async startWaiter(i) {
        const id = await fw!.insert(waiter, { i });
        await until("the run to wait for its event", () => suspended.has(id), 30_000, 1);
        return id;
      },
      emit: (id) => fw!.emit(id, "go", { ok: true }),
    },
  };
}

function success(job: ClaimedJob): FinalizeItem {
  return {
    jobId: job.id,
    runId: job.runId,
    leaseToken: job.leaseToken!,
    run: { outcome: "success", errorClass: null, errorMessage: null, output: undefined, finishedAt: new Date(), durationMs: 0, costMicros: null },
    job: { state: "succeeded", scheduledAt: null, maxAttemptsDelta: 0 },
    followUps: [],
  };
}

const params = JSON.parse(process.argv[3] ?? "{}") as Params;
await runSystem(params.dialect === "postgres" ? "flywheel-pg" : "flywheel-sqlite", system, {
  ...WORKFLOW_WORKLOADS,
  async drain(s, p) {
    const metrics = await WORKLOADS.drain!(s, p);
    return dashboard ? { ...metrics, ...(await dashboard.finish()) } : metrics;
  },
});
