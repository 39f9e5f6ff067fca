import type { PeriodicRecord } from "../core/types.ts";
import { MAINTENANCE_DEFAULTS } from "../core/defaults.ts";
import { catchUpSkipReason, OVERLAP_SKIP_REASON } from "../core/skip-reason.ts";
import type { JobInsertRow } from "../driver/types.ts";
import { jitterOffsetMs } from "../periodic/jitter.ts";
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
      ctx.logger.error("flywheel: periodic failed to fire; the others carry on", { schedule: periodic.slug, error: message });
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
  const catchUpReason = plan.skipped > 0 ? catchUpSkipReason(periodic.catchUp, periodic.backfill) : null;
  const { fired, inserted } = await ctx.driver.periodicFire({
    id: periodic.id,
    expectedNextRunAt: periodic.nextRunAt,
    nextRunAt: plan.nextRunAt,
    jobs,
    skipped: plan.skipped,
    skipReason: catchUpReason,
    now,
  });
  if (!fired) return 0;
  const count = inserted.filter((o) => o.inserted).length;
  const overlapped = inserted.filter((o) => !o.inserted && o.key === "unique_active_key").length;
  // `schedule=<slug>`, as on every job line, so one grep follows a schedule through fires and runs (SPEC §20).
  if (catchUpReason) ctx.logger.warn("flywheel: periodic fires skipped by catch-up policy", { schedule: periodic.slug, skipped: plan.skipped, reason: catchUpReason });
  if (overlapped > 0) ctx.logger.warn("flywheel: periodic fire skipped: previous run still active", { schedule: periodic.slug, skipped: overlapped, reason: OVERLAP_SKIP_REASON });
  // The event carries short codes, which alert payloads (`reason`, `FLYWHEEL_REASON`) and metric labels expose;
  // the periodic records the words.
  const catchUp = `catch_up=${periodic.catchUp}`;
  const reason = overlapped > 0 ? "overlap" : plan.skipped > 0 ? catchUp : null;
  const skips: Record<string, number> = {};
  if (plan.skipped > 0) skips[catchUp] = plan.skipped;
  if (overlapped > 0) skips.overlap = overlapped;
  ctx.events.emit("periodic:fired", { slug: periodic.slug, enqueued: count, skipped: plan.skipped + overlapped, reason, skips });
  return count;
}

/**
 * One fire's job: scheduled at its fire time (or now, for a fire in the future of a late tick) plus the
 * periodic's jitter offset, tagged with its periodic and the fire time it stands for (unjittered: the unique
 * key and missed-fire checks speak of fire times; a missed check allows for the delay through `scheduled_at`).
 */
function fireRow(ctx: RuntimeContext, periodic: PeriodicRecord, at: Date, now: Date): JobInsertRow {
  const scheduleAt = new Date(Math.min(at.getTime(), now.getTime()) + jitterOffsetMs(periodic.slug, periodic.jitterMs));
  const row = ctx.builder.build(periodic.kind, periodic.args, { ...fireOptions(periodic, at), scheduleAt }, now);
  row.metadata = { ...row.metadata, periodic: periodic.slug, fire_at: at.toISOString() };
  return row;
}
