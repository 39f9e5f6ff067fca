import { isTerminal } from "../core/types.ts";
import { exitCodeOf } from "../observe/job-log.ts";
import type { RuntimeContext } from "../runtime/context.ts";

/**
 * Keeps each schedule's state (SPEC §20: last run, outcome, exit code, duration, failure streak) as the jobs it
 * fired end, and reports each as `schedule:finished`. Only a job's last attempt counts (one that ends it); a
 * retried failure is not yet the schedule's result. Returns the unsubscribe function.
 */
export function trackScheduleRuns(ctx: RuntimeContext): () => void {
  return ctx.events.on("job:finished", (e) => {
    const slug = e.job.periodic;
    if (!slug || !e.applied || e.state === null || !isTerminal(e.state)) return;
    const succeeded = e.state === "succeeded";
    const exitCode = exitCodeOf(e.output) ?? null;
    const finishedAt = ctx.clock.now();
    const state = e.state;
    ctx.driver
      .periodicRecordRun({ slug, jobId: e.job.id, outcome: state, succeeded, exitCode, durationMs: e.durationMs, finishedAt })
      .then((streak) => {
        if (!streak) return;
        ctx.events.emit("schedule:finished", { slug, jobId: e.job.id, state, succeeded, exitCode, durationMs: e.durationMs, ...streak });
      })
      // The job's own outcome is committed already; a schedule's summary that fails to update is only logged.
      .catch((error) => ctx.logger.error("flywheel: recording a schedule's run failed", { schedule: slug, job_id: e.job.id, error: (error as Error).message }));
  });
}
