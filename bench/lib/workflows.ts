/**
 * The workflow workloads (issue #12), written once for every system that has durable workflows:
 *
 * - `workflow-drain`: in one process and one store, a plain-job drain of N no-op jobs, then a drain of N runs of
 *   a workflow of {@link DRAIN_STEPS} no-op steps, both pre-filled and at concurrency c (each after a small
 *   untimed warm-up drain). The clock of each stops once every handler or step has run and the store reports
 *   every job or run finished. Step cost = (ms per run − ms per plain job) ÷ steps, an amortised figure (wall
 *   time ÷ items at concurrency c), reported with its ratio to the plain job's ms.
 * - `sleep-wake`: runs started `gapMs` apart, each sleeping `sleepMs` and then running one step; latency = the
 *   step's start − the wake time the store recorded for the sleep.
 * - `event-resume`: one run at a time waits for an event; once the wait is in place (and `gapMs` later) the
 *   event is emitted; latency = the start of the step after the wait − the instant the emit call returned.
 *
 * Latencies are wall-clock milliseconds (`wallNow`), measured in the workers' process.
 */
import { percentile, skip, sleep, timedDrain, timedUntilPersisted, until, wallNow, type BenchSystem, type Workload } from "./harness.ts";

/** Steps in each run of the drain workflow. */
export const DRAIN_STEPS = 3;

/** What the workflows a system defines call back into the workload. */
export interface WorkflowHooks {
  /** A step of a drain run started. */
  onStep(): void;
  /** The step after a sleep or an event wait started: sample `i`, at wall-clock `at`. */
  onResume(i: number, at: number): void;
}

/** A system's durable workflows, as the workflow workloads drive them. */
export interface WorkflowBench {
  /** Inserts `n` runs of the drain workflow (`steps` no-op steps each), untimed. */
  enqueueRuns(n: number, steps: number): Promise<void>;
  /** Runs of the drain workflow the store reports finished. */
  completedRuns(): Promise<number>;
  /** Starts workers for workflows at concurrency `c`; resolves once they run, with their stopper. */
  startWorkflowWorkers(c: number, hooks: WorkflowHooks): Promise<() => Promise<void>>;
  /** Starts a run that sleeps `ms`, then runs a step calling `onResume(i)`; returns its id. Absent: no `sleep-wake`. */
  startSleeper?(i: number, ms: number): Promise<string>;
  /** The wake time the store recorded for a sleeper's sleep (epoch ms). */
  wakeTimeOf?(id: string): Promise<number>;
  /** Starts a run that waits for an event, then runs a step calling `onResume(i)`; resolves once it waits. */
  startWaiter(i: number): Promise<string>;
  /** Sends the event a waiter waits for; resolves when the system's call returns. */
  emit(id: string): Promise<void>;
}

const WARMUP_SAMPLES = 5;

function workflowsOf(s: BenchSystem): WorkflowBench {
  if (!s.workflows) throw skip("no durable workflows in this system");
  return s.workflows;
}

/** Resumes by sample, with a way to wait for one. */
class Resumes {
  readonly at = new Map<number, number>();
  #waiters = new Map<number, () => void>();
  readonly hooks: WorkflowHooks = {
    onStep: () => {},
    onResume: (i, at) => {
      if (!this.at.has(i)) this.at.set(i, at);
      this.#waiters.get(i)?.();
    },
  };
  /** Resolves once sample `i` resumed; throws after `timeoutMs`. */
  async of(i: number, timeoutMs: number): Promise<number> {
    if (!this.at.has(i)) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await new Promise<void>((resolve, reject) => {
          this.#waiters.set(i, resolve);
          timer = setTimeout(() => reject(new Error(`sample ${i} did not resume within ${timeoutMs} ms`)), timeoutMs);
        });
      } finally {
        clearTimeout(timer);
        this.#waiters.delete(i);
      }
    }
    return this.at.get(i)!;
  }
}

function latencyMetrics(latencies: number[]): Record<string, number> {
  latencies.sort((a, b) => a - b);
  return {
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? Number.NaN,
    samples: latencies.length,
  };
}

export const WORKFLOW_WORKLOADS: Record<string, Workload> = {
  "workflow-drain": async (s, p) => {
    const w = workflowsOf(s);
    await s.setup();
    const n = p.jobs ?? 2_000;
    const c = p.concurrency ?? 10;
    const warm = Math.min(200, n);
    const timeoutMs = ((p.timeoutSec as number | undefined) ?? 600) * 1000;

    const plainDrain = async (count: number, base: number) => {
      await s.enqueueMany(Array.from({ length: count }, (_, i) => ({ i })));
      return timedDrain(s, count, c, p, base);
    };
    const runDrain = async (count: number, base: number) => {
      await w.enqueueRuns(count, DRAIN_STEPS);
      return timedUntilPersisted({
        items: count * DRAIN_STEPS,
        start: (onItem) => w.startWorkflowWorkers(c, { onStep: onItem, onResume: () => {} }),
        persisted: async () => (await w.completedRuns()) - base,
        target: count,
        timeoutMs,
      });
    };

    // Warm both paths (statements, JIT, page cache) before either is timed.
    await plainDrain(warm, 0);
    await runDrain(Math.ceil(warm / DRAIN_STEPS), 0);
    const plain = await plainDrain(n, warm);
    const runs = await runDrain(n, Math.ceil(warm / DRAIN_STEPS));

    const msPerJob = 1000 / plain.jobsPerSec!;
    const msPerRun = 1000 / runs.perSec;
    const stepCostMs = (msPerRun - msPerJob) / DRAIN_STEPS;
    return {
      runsPerSec: runs.perSec,
      stepsPerSec: runs.perSec * DRAIN_STEPS,
      plainJobsPerSec: plain.jobsPerSec!,
      msPerRun,
      msPerJob,
      stepCostMs,
      stepCostRatio: stepCostMs / msPerJob,
      runs: runs.persisted,
      steps: DRAIN_STEPS,
      concurrency: c,
    };
  },

  "sleep-wake": async (s, p) => {
    const w = workflowsOf(s);
    if (!w.startSleeper || !w.wakeTimeOf) throw skip("no durable sleep measured for this system");
    await s.setup();
    const count = p.count ?? 100;
    const gapMs = p.gapMs ?? 20;
    const sleepMs = (p.sleepMs as number | undefined) ?? 50;
    const resumes = new Resumes();
    const stop = await w.startWorkflowWorkers(p.concurrency ?? 10, resumes.hooks);
    await sleep(300); // let the workers go idle first, as the latency workload does
    const started: Array<{ i: number; id: string }> = [];
    let next = performance.now();
    for (let i = -WARMUP_SAMPLES; i < count; i++) {
      started.push({ i, id: await w.startSleeper(i, sleepMs) });
      next += gapMs;
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
    }
    await until("every sleeper to resume", () => resumes.at.size >= started.length, 30_000);
    await stop();
    const latencies: number[] = [];
    for (const { i, id } of started) if (i >= 0) latencies.push(resumes.at.get(i)! - (await w.wakeTimeOf(id)));
    return { ...latencyMetrics(latencies), sleepMs };
  },

  "event-resume": async (s, p) => {
    const w = workflowsOf(s);
    await s.setup();
    const count = p.count ?? 100;
    const gapMs = p.gapMs ?? 20;
    const resumes = new Resumes();
    const stop = await w.startWorkflowWorkers(p.concurrency ?? 10, resumes.hooks);
    await sleep(300);
    const latencies: number[] = [];
    for (let i = -WARMUP_SAMPLES; i < count; i++) {
      const id = await w.startWaiter(i);
      // The wait is in place; let the system settle into it as it would between real events.
      await sleep(gapMs);
      await w.emit(id);
      const emitted = wallNow();
      const resumed = await resumes.of(i, 30_000);
      if (i >= 0) latencies.push(resumed - emitted);
    }
    await stop();
    return latencyMetrics(latencies);
  },
};
