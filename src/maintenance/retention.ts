import { MAINTENANCE_DEFAULTS } from "../core/defaults.ts";
import { formatDuration } from "../core/duration.ts";
import type { RuntimeContext } from "../runtime/context.ts";

/**
 * Hard-deletes terminal jobs finalized more than `retentionMs` ago, and their runs, in bounded batches so a
 * large backlog never holds one long transaction. Returns how many jobs it deleted.
 */
export async function deleteFinishedJobs(ctx: RuntimeContext, retentionMs: number): Promise<number> {
  const before = new Date(ctx.clock.now().getTime() - retentionMs);
  const batch = MAINTENANCE_DEFAULTS.retentionBatch;
  let total = 0;
  for (;;) {
    const n = await ctx.driver.jobDeleteFinished({ before, limit: batch });
    total += n;
    if (n < batch) break;
  }
  if (total > 0) {
    ctx.logger.info("flywheel: retention deleted finished jobs", { jobs: total, older_than: formatDuration(retentionMs) });
    ctx.events.emit("retention:deleted", { jobs: total });
  }
  return total;
}
