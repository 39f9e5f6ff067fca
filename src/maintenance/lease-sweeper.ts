import { crashed, retries } from "../jobs/outcome.ts";
import type { RetryPolicy } from "../jobs/retry-policy.ts";
import { CRASHED_MESSAGE } from "../driver/rules.ts";
import { reportBreaker, withBreaker } from "../messaging/breakers.ts";
import type { RuntimeContext } from "../runtime/context.ts";

/**
 * Returns jobs whose lease expired to the queue until none is left (SPEC §6.7): each expired attempt is
 * recorded `crashed` and its job retried after the retry backoff like any failed attempt, or discarded with
 * class `crashed` once it has used all its attempts. Safe to run from several nodes at once: every write is
 * fenced on the expired lease. Returns how many jobs it reclaimed.
 */
export async function sweepExpiredLeases(ctx: RuntimeContext, retry: RetryPolicy, batch: number): Promise<number> {
  let total = 0;
  for (;;) {
    const now = ctx.clock.now();
    const expired = await ctx.driver.leaseListExpired({ now, limit: batch });
    if (expired.length === 0) break;
    const items = expired.map((lease) => {
      // The worker's retryDelay hook is asked only for a job that will be retried.
      const delay = retries("crashed", lease.attempt, lease.maxAttempts)
        ? retry.delayMs(ctx.registry.get(lease.kind), lease.attempt, new Error(CRASHED_MESSAGE))
        : 0;
      return withBreaker(ctx, lease.kind, crashed(lease, now, delay));
    });
    const outcomes = await ctx.driver.jobFinalize({ items, now });
    outcomes.forEach((o, i) => {
      if (!o.applied) return;
      reportBreaker(ctx, o);
      const item = items[i]!;
      const lease = expired[i]!;
      // Reported like any attempt's end, so logs, metrics and alerts see a crash (and a discard after the last).
      ctx.events.emit("job:finished", {
        job: { id: lease.jobId, kind: lease.kind, queue: lease.queue, attempt: lease.attempt, runId: lease.runId ?? "" },
        outcome: "crashed",
        applied: true,
        state: item.job.state,
        errorClass: "crashed",
        errorMessage: item.run.errorMessage,
        durationMs: item.run.durationMs,
        output: null,
        retryDelayMs: item.job.state === "retryable" && item.job.scheduledAt ? item.job.scheduledAt.getTime() - now.getTime() : null,
      });
    });
    const reclaimed = outcomes.filter((o) => o.applied).length;
    total += reclaimed;
    // A full batch may hide more; one that reclaimed nothing (every lease renewed meanwhile) must not spin.
    if (expired.length < batch || reclaimed === 0) break;
  }
  if (total > 0) {
    ctx.logger.warn("jobs: reclaimed expired leases", { jobs: total });
    ctx.events.emit("sweep:reclaimed", { jobs: total });
    ctx.wake.wake();
  }
  return total;
}
