import { WORKFLOW_DEFAULTS } from "../core/defaults.ts";
import { FlywheelError, JobFailedError, JobNotFoundError } from "../core/errors.ts";
import { sleep } from "../core/retry-ladder.ts";
import { isTerminal } from "../core/types.ts";
import type { RuntimeContext } from "../runtime/context.ts";

/**
 * Waits for job `id` to end and returns its last run's output. It looks again whenever this process finishes an
 * attempt of it or is woken (an insert, another process's commit), and at least every 250 ms otherwise, since
 * any process may run it. `timeoutMs` (null: no limit) is wall time: a caller's deadline, not job logic.
 * @throws JobNotFoundError; JobFailedError for a discarded or cancelled job; FlywheelError `timeout`.
 */
export async function awaitResult<T>(ctx: RuntimeContext, id: string, timeoutMs: number | null): Promise<T> {
  const deadline = timeoutMs === null ? null : Date.now() + timeoutMs;
  for (;;) {
    const job = await ctx.driver.jobGet({ id });
    if (!job) throw new JobNotFoundError(id);
    if (isTerminal(job.state)) {
      const last = (await ctx.driver.runList({ jobId: id })).at(-1);
      if (job.state === "succeeded") return (last?.output ?? null) as T;
      throw new JobFailedError(id, job.state as "discarded" | "cancelled", last?.errorMessage ?? null);
    }
    const left = deadline === null ? WORKFLOW_DEFAULTS.resultPollMs : deadline - Date.now();
    if (left <= 0) throw new FlywheelError("timeout", `flywheel: job ${id} did not end within ${timeoutMs} ms (it is ${job.state})`);
    await nextLook(ctx, id, Math.min(left, WORKFLOW_DEFAULTS.resultPollMs));
  }
}

/** Resolves at the next sign the job may have ended, or after `ms`. */
async function nextLook(ctx: RuntimeContext, id: string, ms: number): Promise<void> {
  const stop = new AbortController();
  let offWake = () => {};
  const woken = new Promise<void>((resolve) => {
    const offFinished = ctx.events.on("job:finished", (e) => e.job.id === id && resolve());
    const offCancelled = ctx.events.on("job:cancelled", (e) => e.jobId === id && resolve());
    offWake = () => {
      offFinished();
      offCancelled();
    };
  });
  try {
    await Promise.race([woken, sleep(ms, stop.signal)]);
  } finally {
    stop.abort();
    offWake();
  }
}
