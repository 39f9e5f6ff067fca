import { AlertPolicy } from "../alerts/policy.ts";
import { AlertWatcher } from "../alerts/watcher.ts";
import { FlywheelError } from "../core/errors.ts";
import { createLogger, type Logger } from "../core/logger.ts";
import type { Flywheel } from "../flywheel.ts";
import { VERSION } from "../core/version.ts";
import { httpSettings } from "../node/http-server.ts";
import { loadConfig, type FlywheelConfig, type HttpAddress } from "./config/index.ts";
import { hasAlerts, nodeOptions } from "./node-options.ts";
import { openFlywheel } from "./open.ts";
import { isConfigSource } from "../periodic/source.ts";
import { reconcileSchedules } from "./reconcile.ts";
import { reconcileMessaging } from "./reconcile-messaging.ts";
import { reloadConfig, type ReloadRequests } from "./reload.ts";

/** Options for {@link runDaemon}. */
export interface RunDaemonOptions {
  /** A loaded config (`loadConfig()` or `parseConfig()`). */
  config: FlywheelConfig;
  /** Aborting it drains the node (in-flight jobs get `runtime.drain_timeout`) and ends the daemon. */
  signal: AbortSignal;
  /**
   * Where the daemon logs; default a logger with the config's `log:` level and format (after the
   * `FLYWHEEL_LOG_FORMAT`/`FLYWHEEL_LOG_LEVEL` overrides), on stderr. Job lines and, with `log.job_output`,
   * job output lines go here too; it must not collapse repeated lines.
   */
  logger?: Logger;
  /** Overrides `runtime.http_addr`; null runs no HTTP server. Default: the config's. */
  http?: HttpAddress | null;
  /** Reload requests (SIGHUP, `flywheel reload`); without it the daemon never reloads. */
  reloads?: ReloadRequests;
  /**
   * Reads the config again for a reload; throws ConfigError when it is invalid. Default: `loadConfig` of the
   * running config's file (discovery again when it had none), with `process.env`.
   */
  readConfig?: () => FlywheelConfig;
}

/**
 * What `flywheel serve` does once it has a config: open the database, check its storage for damage, migrate
 * it, reconcile `schedules:`, look for fires missed while no node ran, run the node (runners, scheduler, HTTP with
 * the API and dashboard) and the config's alerts until `signal` aborts, then close. Resolves after a clean drain;
 * rejects before opening anything if the HTTP address may not be served as configured (FlywheelError
 * `config_invalid`: a non-loopback address without `http.api_token`), and rejects if the database cannot be
 * opened, is damaged (FlywheelError `corrupt`, naming the file) or cannot be migrated. Signal handling is the
 * caller's; with `reloads`, each request re-reads the config and applies its schedules (see `reloadConfig`).
 * @example
 * const stop = new AbortController();
 * process.once("SIGTERM", () => stop.abort());
 * await runDaemon({ config: loadConfig(), signal: stop.signal });
 */
export async function runDaemon(options: RunDaemonOptions): Promise<void> {
  const { config, signal } = options;
  const logger = options.logger ?? createLogger({ level: config.log.level, format: config.log.format });
  const http = options.http === undefined ? config.runtime.httpAddr : options.http;
  const node = nodeOptions(config, http);
  if (node.http) httpSettings(node.http);
  const fw = await openFlywheel(config, { logger, logJobs: true, migrate: "never" });
  let stopReloads: (() => Promise<void>) | undefined;
  try {
    await refuseDamaged(fw);
    const { applied } = await fw.migrate();
    logger.info("flywheel: starting", {
      version: VERSION,
      config: config.file ?? "(none)",
      db: config.db.kind === "sqlite" ? config.db.path : "postgres",
      migrated: applied.length > 0 ? applied : undefined,
      job_output: config.log.jobOutput || undefined,
    });
    await reconcileSchedules(fw, config, logger);
    await reconcileMessaging(fw, config, logger);
    if (signal.aborted) return;
    stopReloads = serveReloads(fw, options, logger);
    const running = fw.node(node);
    if (!hasAlerts(config)) return await running.run(signal);
    await withAlerts(fw, config, () => running.url, () => running.run(signal));
  } finally {
    // A reload under way finishes before the database closes.
    await stopReloads?.();
    await fw.close();
  }
}

/**
 * Serves `options.reloads` until the returned function is called (it resolves once a reload under way is done).
 * Reloads run one at a time; requests arriving during one are served by one more after it. Once the daemon is
 * stopping, requests are ignored: a drain is not the time to change schedules.
 */
function serveReloads(fw: Flywheel, options: RunDaemonOptions, logger: Logger): () => Promise<void> {
  const { signal, reloads } = options;
  if (!reloads) return async () => {};
  const read = options.readConfig ?? (() => loadConfig({ explicit: options.config.file ?? undefined }));
  let current = options.config;
  let chain: Promise<void> = Promise.resolve();
  let queued = false;
  const stop = reloads.listen(() => {
    if (signal.aborted || queued) return;
    queued = true;
    chain = chain.then(async () => {
      queued = false;
      if (signal.aborted) return;
      logger.info("flywheel: reloading config", { config: current.file ?? "(none)" });
      current = await reloadConfig(fw, current, read, logger);
    });
  });
  return async () => {
    stop();
    await chain;
  };
}

/**
 * Throws `corrupt` when the database's storage is damaged. A damaged SQLite file would otherwise migrate, then
 * fail every claim forever; quick_check costs one pass over the file, once per start, and runs before migrating
 * so nothing writes to a damaged file. Only damage stops the start here: any other failure of the check (an
 * unmigrated PostgreSQL schema has no tables to read) is left to the migration, which repairs or reports it.
 */
async function refuseDamaged(fw: Flywheel): Promise<void> {
  try {
    await fw.driver.dbCheck({ integrity: true });
  } catch (error) {
    if (error instanceof FlywheelError && error.code === "corrupt") throw error;
  }
}

/**
 * Runs `node` with the config's alerts (SPEC §20): listening before the node starts, so no job or fire goes
 * unheard; one look for missed fires before the scheduler can fire them, so fires missed while no node ran are
 * reported; more looks while the node runs; and after it stops, every alert already raised is enqueued before
 * the database closes. A failed look is logged, never fatal.
 */
async function withAlerts(fw: Flywheel, config: FlywheelConfig, baseUrl: () => URL | null, runNode: () => Promise<void>): Promise<void> {
  const policy = new AlertPolicy({
    schedules: new Map(config.schedules.map((s) => [s.slug, { rules: s.alerts, ping: s.ping, graceMs: s.graceMs }])),
    defaults: config.alerts,
    // Another config's schedules are that daemon's to alert on; the CLI's and the library's take the top-level alerts.
    adopts: (source) => !isConfigSource(source),
  });
  const watcher = new AlertWatcher(fw, { policy, baseUrl, killGraceMs: config.runtime.killGraceMs });
  watcher.start();
  const nodeStopped = new AbortController();
  const watching = watcher.watchMissed(nodeStopped.signal);
  try {
    await watcher.checkMissed().catch((error) => fw.logger.error("flywheel: looking for missed fires failed", { error: (error as Error).message }));
    await runNode();
  } finally {
    nodeStopped.abort();
    await watching;
    await watcher.stop();
  }
}
