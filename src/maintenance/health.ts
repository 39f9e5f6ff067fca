import type { QueueHealth } from "../core/types.ts";
import type { RuntimeContext } from "../runtime/context.ts";

/** Counts by state, ready, in-flight, scheduled ahead and lag, sampled now (SPEC §9). */
export async function sampleQueueHealth(ctx: RuntimeContext, queues?: string[]): Promise<QueueHealth> {
  const now = ctx.clock.now();
  const stats = await ctx.driver.queueStatsGet({ now, queues });
  return {
    counts: stats.counts,
    ready: stats.ready,
    inflight: stats.counts.running,
    scheduledAhead: stats.scheduledAhead,
    oldestReadyAgeSeconds: stats.oldestReadyAt ? Math.max(0, (now.getTime() - stats.oldestReadyAt.getTime()) / 1000) : 0,
    sampledAt: now,
  };
}

/** Logs one line of queue health: the heartbeat an operator greps for (SPEC §7.4). */
export async function logQueueHealth(ctx: RuntimeContext): Promise<void> {
  const h = await sampleQueueHealth(ctx);
  ctx.logger.info("flywheel: queue health", {
    ready: h.ready,
    inflight: h.inflight,
    scheduled_ahead: h.scheduledAhead,
    lag_seconds: h.oldestReadyAgeSeconds,
    discarded: h.counts.discarded,
  });
}
