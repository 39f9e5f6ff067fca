import type { PeriodicRecord } from "../core/types.ts";
import { MAINTENANCE_DEFAULTS } from "../core/defaults.ts";
import type { JobInsertRow } from "../driver/types.ts";
import { planFires } from "../periodic/planner.ts";
import { fireOptions, specOf } from "../periodic/spec.ts";
import type { RuntimeContext } from "../runtime/context.ts";

/**
 * Fires every due periodic once (SPEC §7.2): plans its missed fires by its catch-up policy and writes them in
 * one compare-and-set transaction, so a double tick, a restart or two schedulers never enqueue a fire twice.
 * One periodic that fails (a cron that cannot fire again, args its worker now refuses, a database refusal) is
 * logged and reported as `periodic:failed`; the others still fire. Returns how many jobs it enqueued.
 * `tickMs` is the tick cadence, which `catch_up: none` uses as the window of a fresh fire.
 */
export async function firePeriodics(ctx: RuntimeContext, tickMs: number): Promise<number> {
  const now = ctx.clock.now();
  let enqueued = 0;
  for (const periodic of await ctx.driver.periodicListDue({ now, limit: MAINTENANCE_DEFAULTS.dueBatch })) {
    try {
      enqueued += await fire(ctx, periodic, now, tickMs);
    } catch (error) {
      const message = (error as Error)?.message ?? String(error);
      ctx.logger.error("flywheel: periodic failed to fire; the others carry on", { slug: periodic.slug, error: message });
      ctx.events.emit("periodic:failed", { slug: periodic.slug, error: message });
      // Best effort: the error is logged and reported already, and the database may be what failed.
      await ctx.driver.periodicRecordError({ id: periodic.id, error: message, now }).catch(() => false);
    }
  }
  if (enqueued > 0) ctx.wake.wake();
  return enqueued;
}

async function fire(ctx: RuntimeContext, periodic: PeriodicRecord, now: Date, tickMs: number): Promise<number> {
  // "none" keeps a fire only if it fell due within the last tick; one extra second absorbs a late tick.
  const plan = planFires({
    spec: specOf(periodic),
    nextRunAt: periodic.nextRunAt,
    now,
    catchUp: periodic.catchUp,
    backfill: periodic.backfill,
    tickMs: tickMs + 1_000,
  });
  const jobs = plan.fires.map((at) => fireRow(ctx, periodic, at, now));
  const { fired, inserted } = await ctx.driver.periodicFire({
    id: periodic.id,
    expectedNextRunAt: periodic.nextRunAt,
    nextRunAt: plan.nextRunAt,
    jobs,
    skipped: plan.skipped,
    skipReason: plan.skipped > 0 ? `catch_up=${periodic.catchUp}` : null,
    now,
  });
  if (!fired) return 0;
  const count = inserted.filter((o) => o.inserted).length;
  const overlapped = inserted.filter((o) => !o.inserted && o.key === "unique_active_key").length;
  if (plan.skipped > 0) ctx.logger.warn("flywheel: periodic fires skipped by catch-up policy", { slug: periodic.slug, skipped: plan.skipped, catch_up: periodic.catchUp });
  if (overlapped > 0) ctx.logger.warn("flywheel: periodic fire skipped: previous run still active", { slug: periodic.slug, skipped: overlapped });
  const catchUp = `catch_up=${periodic.catchUp}`;
  const reason = overlapped > 0 ? "overlap" : plan.skipped > 0 ? catchUp : null;
  const skips: Record<string, number> = {};
  if (plan.skipped > 0) skips[catchUp] = plan.skipped;
  if (overlapped > 0) skips.overlap = overlapped;
  ctx.events.emit("periodic:fired", { slug: periodic.slug, enqueued: count, skipped: plan.skipped + overlapped, reason, skips });
  return count;
}

/** One fire's job: scheduled at its fire time (or now, for a fire in the future of a late tick), tagged with its periodic. */
function fireRow(ctx: RuntimeContext, periodic: PeriodicRecord, at: Date, now: Date): JobInsertRow {
  const row = ctx.builder.build(periodic.kind, periodic.args, fireOptions(periodic, at), now);
  row.scheduledAt = at.getTime() < now.getTime() ? at : now;
  row.metadata = { ...row.metadata, periodic: periodic.slug, fire_at: at.toISOString() };
  return row;
}
