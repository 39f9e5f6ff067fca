import { chmodSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { alertWorkers } from "../alerts/workers.ts";
import type { Logger } from "../core/logger.ts";
import { connect } from "../connect.ts";
import type { Flywheel } from "../flywheel.ts";
import { jobOutputLogger } from "../observe/job-output.ts";
import { loggerObserver } from "../observe/job-log.ts";
import { commandWorkers } from "../workers/index.ts";
import type { FlywheelConfig } from "./config/index.ts";

/** Options for {@link openFlywheel}. `{}` means: silent, no job log, migrate the schema only if it is behind. */
export interface OpenOptions {
  logger?: Logger;
  /**
   * Log every attempt's outcome through `logger` (see `loggerObserver`) and, when the config's `log.job_output`
   * is on, each line command jobs write (see `jobOutputLogger`). The daemon does; one-shot commands stay quiet.
   */
  logJobs?: boolean;
  /** `ifBehind` (default) upgrades an older schema so a fresh install works without `flywheel migrate`; `never` leaves it alone. */
  migrate?: "ifBehind" | "never";
}

/**
 * Opens the database a config names and registers the command workers with the config's settings, so args
 * given on the command line are validated at insert as they would be at run time, and the alert workers that
 * deliver alerts and pings (SPEC §20). A SQLite file's missing directories are created mode 0700 (SPEC §3); an
 * existing directory is left as it is. The caller closes the returned client.
 * @example
 * const fw = await openFlywheel(loadConfig(), { migrate: "never" });
 * try { console.log(await fw.queueHealth()); } finally { await fw.close(); }
 */
export async function openFlywheel(config: FlywheelConfig, options: OpenOptions = {}): Promise<Flywheel> {
  const db = config.db;
  const jobLogger = options.logJobs ? options.logger : undefined;
  const observers = jobLogger ? [loggerObserver(jobLogger)] : [];
  let fw: Flywheel;
  if (db.kind === "sqlite") {
    if (db.path !== ":memory:") makePrivateDirs(dirname(resolve(db.path)));
    fw = await connect(`sqlite:${db.path}`, { logger: options.logger, observers, synchronous: config.runtime.synchronous });
  } else {
    fw = await connect(db.url, { logger: options.logger, observers, schema: db.schema });
  }
  try {
    if ((options.migrate ?? "ifBehind") === "ifBehind") {
      const { current, latest } = await fw.driver.schemaVersion();
      if (current < latest) await fw.migrate();
    }
    const workerOptions = {
      envAllowlist: config.runtime.envAllowlist,
      baseDir: config.baseDir,
      killGraceMs: config.runtime.killGraceMs,
      onOutputLine: jobLogger && config.log.jobOutput ? jobOutputLogger(jobLogger) : undefined,
    };
    const jobState = async (id: string) => (await fw.driver.jobGet({ id }))?.state ?? null;
    fw.register(...commandWorkers(workerOptions), ...alertWorkers({ ...workerOptions, jobState }));
    return fw;
  } catch (error) {
    await fw.close();
    throw error;
  }
}

/**
 * Creates `dir` (absolute) and any missing parents, each mode 0700 whatever the umask: the database holds job
 * args and output, which may be secrets. The mode given to mkdir is filtered through the umask, hence the
 * chmod, and only on the directories this call created; an existing directory keeps its mode.
 */
export function makePrivateDirs(dir: string): void {
  const first = mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (first === undefined) return;
  for (let d = dir; ; d = dirname(d)) {
    chmodSync(d, 0o700);
    if (d === first || d === dirname(d)) return;
  }
}
