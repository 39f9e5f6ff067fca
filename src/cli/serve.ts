import { defineCommand } from "citty";
import type { Flywheel } from "../flywheel.ts";
import { parseHttpAddr, type FlywheelConfig, type HttpAddress } from "../daemon/config/index.ts";
import { createLogger, type Logger } from "../core/logger.ts";
import type { NodeOptions } from "../node/node.ts";
import { VERSION } from "../core/version.ts";
import { CONFIG_ARG, openFlywheel, readConfig, UsageError } from "./context.ts";

/**
 * Upserts every `schedules:` entry as a periodic with `source: "config"` and deactivates the config periodics
 * that left the file (deactivated, not deleted: their history and skip counters stay). Periodics added with
 * `flywheel schedule add` (source `cli`) or the library (`api`) are never touched.
 */
export async function reconcileSchedules(fw: Flywheel, config: FlywheelConfig, logger: Logger): Promise<{ upserted: string[]; deactivated: string[] }> {
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

/** The node the config describes: one runner on `runtime.queues`, the scheduler, and HTTP on `http` unless null. */
export function nodeOptions(config: FlywheelConfig, http: HttpAddress | null): NodeOptions {
  const r = config.runtime;
  return {
    runners: [
      {
        queues: r.queues,
        concurrency: r.concurrency,
        prefetch: r.prefetch,
        lease: r.leaseMs,
        pollInterval: r.pollIntervalMs,
        backoff: { base: r.retryBackoff.baseMs, cap: r.retryBackoff.capMs },
        jobTimeout: r.jobTimeoutMs,
      },
    ],
    scheduler: { retention: r.retentionMs, healthSampleInterval: r.healthSampleIntervalMs },
    http: http ? { hostname: http.hostname, port: http.port } : false,
    drainTimeout: r.drainTimeoutMs,
  };
}

/**
 * `flywheel serve`: migrate, register the command workers, reconcile `schedules:`, then run runners, scheduler
 * and the HTTP server until SIGINT/SIGTERM. The first signal drains (in-flight jobs get `runtime.drain_timeout`
 * to finish and their outcomes are recorded) and exits 0; a second signal exits 1 at once.
 */
export default defineCommand({
  meta: { name: "serve", description: "Run the daemon: workers, scheduler and /healthz /readyz /metrics" },
  args: {
    ...CONFIG_ARG,
    "http-addr": { type: "string", valueHint: "host:port|off", description: "Override runtime.http_addr (port 0 picks a free port)" },
  },
  async run({ args }) {
    const config = readConfig(args);
    let http = config.runtime.httpAddr;
    const flag = args["http-addr"];
    if (flag !== undefined) {
      const text = String(flag);
      http = text === "off" || text === "false" ? null : parseHttpAddr(text);
      if (http === null && text !== "off" && text !== "false") throw new UsageError(`--http-addr: expected host:port or off, got ${JSON.stringify(text)}`);
    }
    const logger = createLogger({ level: config.log.level, format: config.log.format });

    const stop = new AbortController();
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals === 1) {
        logger.info("flywheel: draining", { signal, drain_timeout_ms: config.runtime.drainTimeoutMs });
        stop.abort(new Error(`flywheel: ${signal}`));
        return;
      }
      // A second signal means the operator will not wait for the drain. Exiting here rather than in main.ts is
      // the one exception to "main.ts alone exits": nothing up the stack can run while the drain is awaited.
      logger.warn("flywheel: second signal, exiting without draining", { signal });
      process.exit(1);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);

    try {
      const fw = await openFlywheel(config, { logger, logJobs: true, migrate: "never" });
      try {
        const { applied } = await fw.migrate();
        logger.info("flywheel: starting", {
          version: VERSION,
          config: config.file ?? "(none)",
          db: config.db.kind === "sqlite" ? config.db.path : "postgres",
          migrated: applied.length > 0 ? applied : undefined,
        });
        await reconcileSchedules(fw, config, logger);
        if (!stop.signal.aborted) await fw.node(nodeOptions(config, http)).run(stop.signal);
      } finally {
        await fw.close();
      }
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  },
});
