import type { JobRecord, PeriodicRecord } from "../core/types.ts";
import type { Flywheel } from "../flywheel.ts";
import { ALERT_DEFAULTS } from "../core/defaults.ts";
import type { AlertPolicy } from "./policy.ts";
import type { ScheduleAlerts } from "./types.ts";

// Missed fires (SPEC §20): a fire that did not start within `grace` of its time. Three ways to miss, each seen
// by any live node from the database alone:
//   not_fired     the schedule's next_run_at is more than grace in the past: no scheduler enqueued the fire
//                 (no node ran, or the schedule fails to fire);
//   not_started   the fire's job is still waiting more than grace after its time (queue not served, paused, or
//                 runners busy);
//   started_late  the fire's job started, but more than grace after its time.
// Each is named by the schedule and the fire's time, so however many nodes see it, it alerts once.

/** Why a fire counts as missed. */
export type MissedReason = "not_fired" | "not_started" | "started_late";

/** A fire that did not start within its grace. */
export interface MissedFire {
  slug: string;
  fireAt: Date;
  reason: MissedReason;
  /** The fire's job; null when it was never enqueued. */
  job: JobRecord | null;
  startedAt: Date | null;
  /** Why the schedule fails to fire, when it records a reason. */
  error: string | null;
}

/** The fire `periodic` owes and no scheduler has enqueued within `graceMs` of its time, or null. */
export function unfiredFire(periodic: PeriodicRecord, now: Date, graceMs: number): MissedFire | null {
  if (!periodic.isActive || periodic.nextRunAt.getTime() + graceMs >= now.getTime()) return null;
  return { slug: periodic.slug, fireAt: periodic.nextRunAt, reason: "not_fired", job: null, startedAt: null, error: periodic.lastError };
}

/** The fire time a schedule's job was enqueued for (`metadata.fire_at`); null for a job no scheduled fire made. */
export function fireOf(job: Pick<JobRecord, "metadata">): Date | null {
  const at = job.metadata.fire_at;
  if (typeof at !== "string") return null;
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * Whether the job of a fire missed its start: `startedAt` null means it has not started by `now`. The deadline is
 * `grace` after the fire, or after the job's scheduled time when that is later (a fire delayed on purpose).
 * Returns the missed fire, or null when it started (or may still start) in time.
 */
export function lateStart(job: JobRecord, graceMs: number, startedAt: Date | null, now: Date): MissedFire | null {
  const slug = job.metadata.periodic;
  const fireAt = fireOf(job);
  if (typeof slug !== "string" || fireAt === null) return null;
  const deadline = Math.max(fireAt.getTime(), job.scheduledAt.getTime()) + graceMs;
  if ((startedAt ?? now).getTime() <= deadline) return null;
  return { slug, fireAt, reason: startedAt ? "started_late" : "not_started", job, startedAt, error: null };
}

/**
 * Every missed fire of the active periodics that alert on `missed`, as of `now`: their overdue next fires, and
 * their fires whose jobs still wait past their deadline. Waiting jobs are read per queue and state, newest first,
 * at most {@link ALERT_DEFAULTS.scanLimit} each: beyond that backlog an older waiting fire was seen by an earlier
 * pass, or is not seen at all.
 */
export async function findMissedFires(fw: Flywheel<any>, policy: AlertPolicy, now: Date): Promise<Array<{ missed: MissedFire; alerts: ScheduleAlerts }>> {
  const watched = new Map<string, { periodic: PeriodicRecord; alerts: ScheduleAlerts }>();
  for (const periodic of await fw.listPeriodics()) {
    const alerts = periodic.isActive ? policy.for(periodic) : null;
    if (alerts?.rules.some((r) => r.on.includes("missed"))) watched.set(periodic.slug, { periodic, alerts });
  }
  const found: Array<{ missed: MissedFire; alerts: ScheduleAlerts }> = [];
  for (const { periodic, alerts } of watched.values()) {
    const missed = unfiredFire(periodic, now, alerts.graceMs);
    if (missed) found.push({ missed, alerts });
  }
  const queues = new Set([...watched.values()].map((w) => w.periodic.queue));
  for (const queue of queues) {
    for (const state of ["available", "scheduled"] as const) {
      for (const job of await fw.listJobs({ queue, state, limit: ALERT_DEFAULTS.scanLimit })) {
        const w = typeof job.metadata.periodic === "string" ? watched.get(job.metadata.periodic) : undefined;
        // attempt 0: never started. A job back in the queue for a retry did start, at its first attempt.
        const missed = w && job.attempt === 0 ? lateStart(job, w.alerts.graceMs, null, now) : null;
        if (missed && w) found.push({ missed, alerts: w.alerts });
      }
    }
  }
  return found;
}
