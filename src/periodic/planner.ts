import type { CatchUp } from "../core/types.ts";
import { firesUpTo, nextFire, type ScheduleSpec } from "./cron.ts";

/** Missed cron fires counted one by one before the rest is estimated; keeps a long outage's planning short. */
const MAX_COUNTED = 1_000;

/** The fires a due periodic owes at `now`, after its catch-up policy, and what it drops. */
export interface FirePlan {
  /** Fire times to enqueue, oldest first. */
  fires: Date[];
  /** Fires dropped by the catch-up policy (estimated beyond {@link MAX_COUNTED} missed cron fires). */
  skipped: number;
  /** The next fire strictly after `now`. */
  nextRunAt: Date;
}

/**
 * Plans a due periodic's fires: the fire times in [`nextRunAt`, `now`], reduced by `catchUp` (`all` keeps the
 * most recent `backfill`, `latest` keeps one, `none` keeps only a fire within the last `tickMs`). Costs
 * O(backfill) however long the periodic went unfired: the kept fires are read backwards from `now`, and the
 * dropped ones counted (exactly for intervals, by enumeration up to a bound for crons, then estimated).
 */
export function planFires(p: { spec: ScheduleSpec; nextRunAt: Date; now: Date; catchUp: CatchUp; backfill: number; tickMs: number }): FirePlan {
  const keep = p.catchUp === "all" ? Math.max(p.backfill, 0) : 1;
  const recent = firesUpTo(p.spec, p.now, Math.max(keep, 1))
    .filter((f) => f.getTime() >= p.nextRunAt.getTime())
    .reverse();
  const total = missedCount(p.spec, p.nextRunAt, p.now, recent);
  let fires = recent.slice(recent.length - Math.min(keep, recent.length));
  if (p.catchUp === "none") fires = fires.filter((f) => p.now.getTime() - f.getTime() < p.tickMs);
  return { fires, skipped: Math.max(0, total - fires.length), nextRunAt: nextFire(p.spec, p.now) };
}

/** How many fires fall in [`from`, `to`], given `recent`, the latest of them (oldest first). */
function missedCount(spec: ScheduleSpec, from: Date, to: Date, recent: Date[]): number {
  if (from.getTime() > to.getTime()) return 0;
  if ("intervalSeconds" in spec) {
    const step = spec.intervalSeconds * 1000;
    return Math.floor(to.getTime() / step) - Math.ceil(from.getTime() / step) + 1;
  }
  const oldest = recent[0];
  // Fewer recent fires than asked for, or the oldest is the first missed one: `recent` is all of them.
  if (oldest === undefined || oldest.getTime() <= from.getTime()) return recent.length;
  let counted = 0;
  let first = 0;
  let cursor = new Date(from.getTime() - 1);
  for (;;) {
    const next = nextFire(spec, cursor);
    if (next.getTime() >= oldest.getTime()) return counted + recent.length;
    if (++counted === 1) first = next.getTime();
    if (counted >= MAX_COUNTED) {
      // Extrapolate the fires strictly between `next` and `oldest` at the spacing of those counted so far:
      // exact for evenly spaced schedules, close for the rest.
      const spacing = (next.getTime() - first) / (counted - 1);
      const between = Math.max(0, Math.round((oldest.getTime() - next.getTime()) / spacing) - 1);
      return counted + between + recent.length;
    }
    cursor = next;
  }
}
