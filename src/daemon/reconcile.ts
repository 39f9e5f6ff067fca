import type { Logger } from "../core/logger.ts";
import type { Flywheel } from "../flywheel.ts";
import type { FlywheelConfig } from "./config/index.ts";

/**
 * Upserts every `schedules:` entry as a periodic with `source: "config"` and deactivates the config periodics
 * that left the file (deactivated, not deleted: their history and skip counters stay). Periodics added with
 * `flywheel schedule add` (source `cli`) or the library (`api`) are never touched. Logs one line through
 * `logger` (default: the client's).
 * @example const { upserted, deactivated } = await reconcileSchedules(fw, loadConfig());
 */
export async function reconcileSchedules(
  fw: Flywheel,
  config: FlywheelConfig,
  logger: Logger = fw.logger,
): Promise<{ upserted: string[]; deactivated: string[] }> {
  const upserted: string[] = [];
  for (const s of config.schedules) {
    await fw.upsertPeriodic({
      slug: s.slug,
      kind: s.kind,
      ...(s.cron !== undefined ? { cron: s.cron } : { every: s.everyMs }),
      timezone: s.timezone,
      args: s.args,
      queue: s.queue,
      overlap: s.overlap,
      catchUp: s.catchUp,
      backfill: s.backfill,
      maxAttempts: s.maxAttempts,
      priority: s.priority,
      timeout: s.timeoutMs,
      active: s.active,
      source: "config",
    });
    upserted.push(s.slug);
  }
  const deactivated = await fw.deactivateMissingPeriodics("config", upserted);
  logger.info("flywheel: schedules reconciled", { upserted: upserted.length, deactivated: deactivated.length > 0 ? deactivated : undefined });
  return { upserted, deactivated };
}
