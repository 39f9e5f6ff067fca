/**
 * DBOS Transact (npm `@dbos-inc/dbos-sdk`) on PostgreSQL, under Bun: durable workflows checkpointed in its
 * system database (here a fresh schema of the benchmark database, `systemDatabaseSchemaName`). It never changes
 * `synchronous_commit` (checked in its dist/), so durability is the server's: fsync on, synchronous_commit on.
 *
 * How its workflows map onto the workloads:
 * - the plain job is a workflow with no steps, enqueued on a DBOS queue (its background-job mechanism); the
 *   drain workflow runs its steps with `DBOS.runStep`, enqueued on the same queue;
 * - the queue is registered with `workerConcurrency` c and `minPollingIntervalMs` (param `pollMs`, default 10;
 *   DBOS's default is 1,000 ms, which caps a drain at c runs per second: its dispatcher claims only when it polls,
 *   not when a run ends);
 * - a backlog is pre-filled with `DBOS.startWorkflow(…, { queueName })` while the queued workflows' bodies are
 *   held at a gate (DBOS dequeues as soon as it can, and a launched process cannot stop listening to a queue): at
 *   most c runs are claimed before the clock starts, which the timed drain does not pay for;
 * - event-resume: the waiter is started directly (`DBOS.startWorkflow`, no queue) and waits in `DBOS.recv`;
 *   the event is `DBOS.send` from outside any workflow (LISTEN/NOTIFY wakes the receiver);
 * - sleep-wake: `DBOS.sleep` records its end time and then waits on an in-process timer (the run stays in
 *   memory); the wake time is the one it stored (`listWorkflowSteps`).
 */
import postgres from "postgres";
import { loadPeer, peerVersion, runSystem, runtimeName, until, wallNow, type BenchSystem, type Handler, type Location, type Params } from "../lib/harness.ts";
import { DEFAULT_PG_URL, pgSchema } from "../lib/stores.ts";
import { WORKFLOW_WORKLOADS, type WorkflowHooks } from "../lib/workflows.ts";

interface Handle {
  workflowID: string;
}
interface DbosApi {
  setConfig(config: Record<string, unknown>): void;
  launch(): Promise<void>;
  shutdown(): Promise<void>;
  registerWorkflow<A extends unknown[], R>(fn: (...args: A) => Promise<R>, config: { name: string }): (...args: A) => Promise<R>;
  registerQueue(name: string, options: Record<string, unknown>): Promise<{ name: string }>;
  runStep<R>(fn: () => Promise<R>, config: { name: string }): Promise<R>;
  startWorkflow<A extends unknown[], R>(fn: (...args: A) => Promise<R>, params?: { queueName?: string }): (...args: A) => Promise<Handle>;
  send(destinationID: string, message: unknown, topic: string): Promise<void>;
  recv<T>(topic: string, timeoutSeconds: number): Promise<T | null>;
  sleep(ms: number): Promise<void>;
  listWorkflowSteps(id: string): Promise<Array<{ name: string; output: unknown }> | undefined>;
}

const PACKAGE = "@dbos-inc/dbos-sdk";
const QUEUE = "bench";
const NAMES = { job: "bench_job", drain: "bench_drain", sleep: "bench_sleep", wait: "bench_wait" } as const;

async function system(params: Params): Promise<BenchSystem> {
  const { DBOS } = await loadPeer<{ DBOS: DbosApi }>(PACKAGE);
  const url = params.pgUrl ?? DEFAULT_PG_URL;
  const concurrency = params.concurrency ?? 10;
  const pollMs = Number(params.pollMs ?? 10);
  const schema = pgSchema(url, "dbos");
  let sql: postgres.Sql | null = null;
  let launched = false;
  let handler: Handler = () => {};
  let hooks: WorkflowHooks = { onStep() {}, onResume() {} };
  const waiting = new Set<number>();

  // Queued bodies wait here until workers "start"; see the header.
  let openGate = () => {};
  let gate = new Promise<void>((resolve) => (openGate = resolve));
  const closeGate = () => {
    gate = new Promise<void>((resolve) => (openGate = resolve));
  };

  const job = DBOS.registerWorkflow(async (i: number) => {
    await gate;
    handler({ i });
  }, { name: NAMES.job });
  const drain = DBOS.registerWorkflow(async (_i: number, steps: number) => {
    await gate;
    for (let k = 0; k < steps; k++) {
      await DBOS.runStep(async () => {
        hooks.onStep();
        return k;
      }, { name: `s${k}` });
    }
  }, { name: NAMES.drain });
  const resumed = (i: number) =>
    DBOS.runStep(async () => {
      hooks.onResume(i, wallNow());
      return null;
    }, { name: "after" });
  const sleeper = DBOS.registerWorkflow(async (i: number, ms: number) => {
    await DBOS.sleep(ms);
    await resumed(i);
  }, { name: NAMES.sleep });
  const waiter = DBOS.registerWorkflow(async (i: number) => {
    waiting.add(i);
    await DBOS.recv("go", 60);
    await resumed(i);
  }, { name: NAMES.wait });

  /** Enqueues `count` runs of `fn` on the queue, ten in flight (each is one committed insert). */
  const enqueue = async <A extends unknown[]>(fn: (...args: A) => Promise<unknown>, count: number, args: (k: number) => A) => {
    const start = DBOS.startWorkflow(fn, { queueName: QUEUE });
    for (let k = 0; k < count; k += 10) {
      await Promise.all(Array.from({ length: Math.min(10, count - k) }, (_, j) => start(...args(k + j))));
    }
  };
  const succeeded = async (name: string) =>
    (await sql!.unsafe<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM "${schema.name}".workflow_status WHERE name = $1 AND status = 'SUCCESS'`, [name]))[0]!.n;
  const startGated = async () => {
    openGate();
    return async () => closeGate();
  };

  return {
    info: () => ({
      version: `${PACKAGE} ${peerVersion(PACKAGE)}`,
      runtime: runtimeName(),
      durability: "PostgreSQL fsync=on, synchronous_commit=on (server default; not changed by the library)",
      config: `queue workerConcurrency ${concurrency}, minPollingIntervalMs ${pollMs} (default 1000); LISTEN/NOTIFY on (default); plain job = a workflow with no steps`,
    }),
    async setup(): Promise<Location> {
      DBOS.setConfig({ name: "flywheel-bench", systemDatabaseUrl: url, systemDatabaseSchemaName: schema.name, logLevel: "error" });
      await DBOS.launch();
      launched = true;
      await DBOS.registerQueue(QUEUE, { workerConcurrency: concurrency, minPollingIntervalMs: pollMs });
      sql = postgres(url, { max: 1, onnotice: () => {} });
      return { schema: schema.name };
    },
    async teardown() {
      openGate(); // let held bodies finish so shutdown does not wait on them
      if (launched) await DBOS.shutdown();
      await sql?.end({ timeout: 5 });
      await schema.drop();
    },
    async enqueue(args) {
      await DBOS.startWorkflow(job, { queueName: QUEUE })(args.i);
    },
    async enqueueMany(items) {
      await enqueue(job, items.length, (k) => [items[k]!.i] as [number]);
    },
    async startWorkers(c, h) {
      if (c !== concurrency) throw new Error(`the queue was registered with workerConcurrency ${concurrency}, not ${c}`);
      handler = h;
      return startGated();
    },
    completed: () => succeeded(NAMES.job),
    workflows: {
      enqueueRuns: (n, steps) => enqueue(drain, n, (k) => [k, steps] as [number, number]),
      completedRuns: () => succeeded(NAMES.drain),
      async startWorkflowWorkers(c, h) {
        if (c !== concurrency) throw new Error(`the queue was registered with workerConcurrency ${concurrency}, not ${c}`);
        hooks = h;
        return startGated();
      },
      startSleeper: async (i, ms) => (await DBOS.startWorkflow(sleeper)(i, ms)).workflowID,
      async wakeTimeOf(id) {
        const nap = (await DBOS.listWorkflowSteps(id))?.find((step) => step.name === "DBOS.sleep");
        if (nap === undefined) throw new Error(`workflow ${id} recorded no sleep`);
        return Number(nap.output);
      },
      async startWaiter(i) {
        const { workflowID } = await DBOS.startWorkflow(waiter)(i);
        await until("the workflow to reach DBOS.recv", () => waiting.has(i), 30_000, 1);
        return workflowID;
      },
      emit: (id) => DBOS.send(id, { ok: true }, "go"),
    },
  };
}

await runSystem("dbos", system, WORKFLOW_WORKLOADS);
