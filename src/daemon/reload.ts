import type { Logger } from "../core/logger.ts";
import type { Flywheel } from "../flywheel.ts";
import type { FlywheelConfig } from "./config/index.ts";
import { reconcileSchedules } from "./reconcile.ts";
import { reconcileMessaging } from "./reconcile-messaging.ts";

// Config reload (SPEC §20): SIGHUP and `flywheel reload` re-read the config while the daemon runs. What a
// reload applies is the schedules, bindings and queue pauses, through the same reconciles a start does, so running
// jobs carry on untouched.
// Everything the running node was built from (database, runners, HTTP, log, alerts) stays as started and is
// reported as needing a restart.

/**
 * Reload requests for a running daemon: `flywheel serve` calls {@link request} on SIGHUP, and `runDaemon`
 * listens. A request made before the daemon listens (a signal during the start) is kept and served once it
 * does; requests made while a reload runs are served after it, as one.
 * @example
 * const reloads = new ReloadRequests();
 * process.on("SIGHUP", () => reloads.request());
 * await runDaemon({ config, signal, reloads });
 */
export class ReloadRequests {
  #listener: (() => void) | null = null;
  #pending = false;

  /** Asks the daemon to re-read its config. */
  request(): void {
    if (this.#listener) this.#listener();
    else this.#pending = true;
  }

  /** Serves requests with `listener` (one listener at a time); returns the function that stops listening. */
  listen(listener: () => void): () => void {
    this.#listener = listener;
    if (this.#pending) {
      this.#pending = false;
      listener();
    }
    return () => {
      if (this.#listener === listener) this.#listener = null;
    };
  }
}

/**
 * The settings of `next` a running daemon cannot apply, as config keys (`db`, `runtime.concurrency`, `alerts`,
 * `schedules.<slug>.alerts`): the node, its HTTP server, its logger and its alert policy were built from
 * `running` at the start. Empty when only schedules changed.
 */
export function needsRestart(running: FlywheelConfig, next: FlywheelConfig): string[] {
  const keys: string[] = [];
  if (!same(running.db, next.db)) keys.push("db");
  for (const section of ["runtime", "http", "log"] as const) {
    const a = running[section] as unknown as Record<string, unknown>;
    const b = next[section] as unknown as Record<string, unknown>;
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) if (!same(a[key], b[key])) keys.push(`${section}.${snake(key)}`);
  }
  if (!same(running.alerts, next.alerts)) keys.push("alerts");
  const before = new Map(running.schedules.map((s) => [s.slug, s]));
  for (const s of next.schedules) {
    const old = before.get(s.slug);
    const alerting = (x: typeof s) => ({ alerts: x.alerts, ping: x.ping, grace: x.graceMs });
    // A new schedule without alerts needs nothing the running policy lacks.
    const changed = old ? !same(alerting(old), alerting(s)) : s.alerts.length > 0 || s.ping !== null;
    if (changed) keys.push(`schedules.${s.slug}.alerts`);
  }
  return keys;
}

/**
 * Re-reads the config with `read` and applies its schedules, bindings and queue pauses to `fw` (added, changed,
 * removed: see `reconcileSchedules` and `reconcileMessaging`), under the running config's instance. Returns the
 * config now in effect: `running` with the new schedules, bindings and queues. A config that cannot be read or validated changes nothing: one `error` line says why (the
 * ConfigError's `file:line: key: what`) and `running` is returned. Settings that need a restart are named in
 * one `warn` line.
 */
export async function reloadConfig(fw: Flywheel, running: FlywheelConfig, read: () => FlywheelConfig, logger: Logger): Promise<FlywheelConfig> {
  let next: FlywheelConfig;
  try {
    next = read();
  } catch (error) {
    logger.error("flywheel: reload refused, the running config stays", { error: errorLine(error) });
    return running;
  }
  const applied: FlywheelConfig = { ...running, schedules: next.schedules, bindings: next.bindings, queues: next.queues };
  try {
    await reconcileSchedules(fw, applied, logger);
    await reconcileMessaging(fw, applied, logger);
  } catch (error) {
    // The config validated, so this is the database (or a worker refusing args): the schedules upserted
    // before the failure stay, the rest are as they were; the next reload tries again.
    logger.error("flywheel: reload failed while saving schedules or bindings; the next reload tries again", { error: errorLine(error) });
    return running;
  }
  const restart = needsRestart(running, next);
  if (restart.length > 0) {
    logger.warn("flywheel: reload: these settings need a restart to apply; the running values stay until then", { needs_restart: restart });
  }
  logger.info("flywheel: config reloaded", { config: next.file ?? "(none)", schedules: next.schedules.length });
  return applied;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** `drainTimeoutMs` → `drain_timeout`, `httpAddr` → `http_addr`: the key as the config file spells it. */
function snake(key: string): string {
  return key.replace(/Ms$/, "").replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function errorLine(error: unknown): string {
  return ((error as Error)?.message ?? String(error)).replace(/^flywheel: /, "");
}
