import type { JobRecord, PeriodicRecord } from "../core/types.ts";
import type { ControlPlane } from "./control.ts";
import { HTTP_API_DEFAULTS } from "../core/defaults.ts";
import { lastFireJson } from "./wire.ts";

// Each schedule's last fire, found through the public reads: every fire's job carries the unique key
// `periodic:<slug>@<fire>` (SPEC §7.2), so the newest job of the schedule's kind and queue holding such a key is
// its last fire. One read per kind and queue serves all the schedules that share them; a schedule whose last fire
// is older than the newest `scheduleScanJobs` jobs there shows none. A driver read by unique-key prefix would
// make that exact; until one exists this keeps the API on the facade.

const PREFIX = "periodic:";

/** The slug of the schedule that fired `job`, or null for a job no schedule enqueued. */
export function firedBy(job: Pick<JobRecord, "uniqueKey">): string | null {
  const key = job.uniqueKey;
  if (key === null || !key.startsWith(PREFIX)) return null;
  const at = key.lastIndexOf("@");
  return at > PREFIX.length ? key.slice(PREFIX.length, at) : null;
}

/** Each fired schedule's last fire (its job and latest attempt), by slug. */
export async function lastFires(control: ControlPlane, periodics: PeriodicRecord[]): Promise<Map<string, ReturnType<typeof lastFireJson>>> {
  // Every schedule, not only those with a last_enqueued_at: a manual trigger enqueues without setting it.
  const wanted = new Set(periodics.map((p) => p.slug));
  const newest = new Map<string, JobRecord>();
  const places = new Map<string, { kind: string; queue: string }>();
  for (const p of periodics) places.set(JSON.stringify([p.kind, p.queue]), { kind: p.kind, queue: p.queue });
  await Promise.all(
    [...places.values()].map(async (place) => {
      const jobs = await control.listJobs({ ...place, limit: HTTP_API_DEFAULTS.scheduleScanJobs });
      // Newest first, so the first job seen per slug is its last fire.
      for (const job of jobs) {
        const slug = firedBy(job);
        if (slug !== null && wanted.has(slug) && !newest.has(slug)) newest.set(slug, job);
      }
    }),
  );
  const fires = new Map<string, ReturnType<typeof lastFireJson>>();
  await Promise.all(
    [...newest].map(async ([slug, job]) => {
      const runs = await control.listRuns(job.id);
      fires.set(slug, lastFireJson(job, runs.at(-1)));
    }),
  );
  return fires;
}
