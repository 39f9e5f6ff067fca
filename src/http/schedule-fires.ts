import type { PeriodicRecord } from "../core/types.ts";
import type { ControlPlane } from "./control.ts";
import { lastFireJson } from "./wire.ts";

// Each schedule's last fire, through the public reads: `listPeriodicJobs` finds a schedule's jobs by their unique
// key `periodic:<slug>@<fire>` (SPEC §7.2) through the unique-key index, newest first, so its first job is the
// last fire, a manual trigger included (which sets no last_enqueued_at).

/** Each fired schedule's last fire (its job and latest attempt), by slug. */
export async function lastFires(control: ControlPlane, periodics: PeriodicRecord[]): Promise<Map<string, ReturnType<typeof lastFireJson>>> {
  const fires = new Map<string, ReturnType<typeof lastFireJson>>();
  await Promise.all(
    periodics.map(async (p) => {
      const [job] = await control.listPeriodicJobs(p.slug, { limit: 1 });
      if (job) fires.set(p.slug, lastFireJson(job, (await control.listRuns(job.id)).at(-1)));
    }),
  );
  return fires;
}
