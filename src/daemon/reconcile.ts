import type { Logger } from "../core/logger.ts";
import type { PeriodicRecord } from "../core/types.ts";
import type { Flywheel } from "../flywheel.ts";
import type { FlywheelConfig } from "./config/index.ts";
import { configSource, isConfigSource, parseSource } from "../periodic/source.ts";

/** How a legacy bare-`config` periodic's unknown config is named in log lines. */
const UNKNOWN_INSTANCE = "(unknown: saved before runtime.instance)";

/**
 * Upserts every `schedules:` entry as a periodic with source `config:<runtime.instance>` and deactivates this
 * instance's periodics that left the file (deactivated, not deleted: their history and skip counters stay).
 * Periodics of another config instance are never deactivated, nor are those added with `flywheel schedule add`
 * (source `cli`) or the library (`api`). A legacy bare-`config` periodic whose slug this config defines becomes
 * this instance's. Logs one `info` line through `logger` (default: the client's), and one `warn` line each when
 * another config's schedules are active on this database, or when this config took over a slug another
 * instance defined. A schedule an operator paused stays paused (logged as `paused_by_operator`) until an operator
 * resumes it.
 * @example const { upserted, deactivated } = await reconcileSchedules(fw, loadConfig());
 */
export async function reconcileSchedules(
  fw: Flywheel,
  config: FlywheelConfig,
  logger: Logger = fw.logger,
): Promise<{ upserted: string[]; deactivated: string[] }> {
  const instance = config.runtime.instance;
  const source = configSource(instance);
  const before = await fw.listPeriodics();
  // An operator's pause (CLI or API) survives the config: the schedule stays paused until an operator resumes it.
  const operatorPaused = new Set(before.filter((p) => !p.isActive && p.pausedBy === "operator").map((p) => p.slug));
  const upserted: string[] = [];
  const keptPaused: string[] = [];
  for (const s of config.schedules) {
    const paused = operatorPaused.has(s.slug);
    if (paused && s.active) keptPaused.push(s.slug);
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
      jitter: s.jitterMs,
      active: s.active && !paused,
      source,
    });
    upserted.push(s.slug);
  }
  const deactivated = await fw.deactivateMissingPeriodics(source, upserted);
  logger.info("flywheel: schedules reconciled", {
    instance,
    upserted: upserted.length,
    deactivated: deactivated.length > 0 ? deactivated : undefined,
    paused_by_operator: keptPaused.length > 0 ? keptPaused : undefined,
  });

  const ours = new Set(upserted);
  const others = before.filter((p) => isConfigSource(p.source) && p.source !== source);
  const active = byInstance(others.filter((p) => p.isActive && !ours.has(p.slug)));
  if (active) {
    logger.warn("flywheel: schedules of another config are active on this database; this daemon leaves them alone", { instance, others: active });
  }
  const takenOver = byInstance(others.filter((p) => ours.has(p.slug) && parseSource(p.source).instance !== null));
  if (takenOver) {
    logger.warn("flywheel: this config took over schedules another config defined (slugs are shared by every daemon on a database)", {
      instance,
      taken_over: takenOver,
    });
  }
  return { upserted, deactivated };
}

/** Slugs grouped by the config instance they came from; undefined when there are none. */
function byInstance(periodics: PeriodicRecord[]): Record<string, string[]> | undefined {
  if (periodics.length === 0) return undefined;
  const groups: Record<string, string[]> = {};
  for (const p of periodics) (groups[parseSource(p.source).instance ?? UNKNOWN_INSTANCE] ??= []).push(p.slug);
  return groups;
}
