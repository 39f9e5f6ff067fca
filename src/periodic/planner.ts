import type { CatchUp } from "../core/types.ts";
import { nextFire, type ScheduleSpec } from "./cron.ts";

/** Upper bound on fires enumerated for one periodic in one tick; older missed fires are counted, not listed. */
const MAX_ENUMERATED = 100_000;

/** The fires a due periodic owes at `now`, after its catch-up policy, and what it drops. */
export interface FirePlan {
  /** Fire times to enqueue, oldest first. */
  fires: Date[];
  /** Fires dropped by the catch-up policy. */
  skipped: number;
  /** The next fire strictly after `now`. */
  nextRunAt: Date;
}

/**
 * Plans a due periodic's fires: every fire time in [`nextRunAt`, `now`], reduced by `catchUp` (`all` keeps the
 * most recent `backfill`, `latest` keeps one, `none` keeps only a fire within the last `tickMs`).
 */
export function planFires(p: {
  spec: ScheduleSpec;
  nextRunAt: Date;
  now: Date;
  catchUp: CatchUp;
  backfill: number;
  tickMs: number;
}): FirePlan {
  const due: Date[] = [];
  let total = 0;
  let cursor = p.nextRunAt;
  if ("intervalSeconds" in p.spec) {
    const step = p.spec.intervalSeconds * 1000;
    const first = p.nextRunAt.getTime();
    total = first <= p.now.getTime() ? Math.floor((p.now.getTime() - first) / step) + 1 : 0;
    const keep = Math.min(total, Math.max(p.backfill, 1));
    for (let i = total - keep; i < total; i++) due.push(new Date(first + i * step));
  } else {
    while (cursor.getTime() <= p.now.getTime() && total < MAX_ENUMERATED) {
      due.push(cursor);
      total++;
      if (due.length > Math.max(p.backfill, 1)) due.shift();
      cursor = nextFire(p.spec, cursor);
    }
  }
  const nextRunAt = nextFire(p.spec, p.now);
  let fires: Date[];
  if (p.catchUp === "all") fires = due.slice(-Math.max(p.backfill, 0));
  else if (p.catchUp === "latest") fires = due.slice(-1);
  else fires = due.slice(-1).filter((f) => p.now.getTime() - f.getTime() < p.tickMs);
  if (p.catchUp === "all" && p.backfill === 0) fires = [];
  return { fires, skipped: total - fires.length, nextRunAt };
}
