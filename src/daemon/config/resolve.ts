import { hostname } from "node:os";
import { resolve } from "node:path";
import * as v from "valibot";
import {
  ALERT_DEFAULTS,
  BACKOFF_DEFAULTS,
  COMMAND_WORKER_DEFAULTS,
  CONFIG_SCHEDULE_DEFAULTS,
  DAEMON_DEFAULTS,
  HTTP_DEFAULTS,
  LOG_DEFAULTS,
  NODE_DEFAULTS,
  PERIODIC_DEFAULTS,
  RUNNER_DEFAULTS,
  SQLITE_DEFAULTS,
} from "../../core/defaults.ts";
import type { CommandKind } from "../../workers/index.ts";
import { type RawAlert, resolveAlerts } from "./alerts.ts";
import { defaultDatabasePath } from "./discover.ts";
import { applyLogEnv } from "./log-env.ts";
import { ConfigError, type ConfigIssue, configIssueOf, dedupeIssues } from "./issues.ts";
import { dotPath, locate } from "./locate.ts";
import { resolveBindings, resolveQueues } from "./messaging.ts";
import { commandJobTimeout, expandHome } from "./paths.ts";
import { resolveWorkerArgs } from "./worker-args.ts";
import { CONFIG_SCHEMA, type RawConfig } from "./schema.ts";
import type { ConfigEnv, ConfigSource, DatabaseConfig, FlywheelConfig, HttpAddress, HttpConfig, RuntimeConfig, ScheduleConfig } from "./types.ts";

// Parsed YAML → FlywheelConfig: the schema, then the checks that span keys or touch the disk (duplicate slugs,
// cron xor every, worker args, script paths), then every default applied. Defaults come from core/defaults.ts
// (and the command workers' own, for their options), never from literals here.

/** The daemon's HTTP address when the config names none. */
export const DEFAULT_HTTP_ADDR: Readonly<HttpAddress> = { hostname: HTTP_DEFAULTS.hostname, port: HTTP_DEFAULTS.port };

/** Where a config came from, for resolving it: relative paths resolve against `baseDir`, lines are found in `text`. */
export interface ResolveContext {
  file: string | null;
  source: ConfigSource;
  baseDir: string;
  env: ConfigEnv;
  /** The YAML text, to locate issues; `""` when there is none. */
  text: string;
}

/**
 * Validates parsed YAML (`{}` for no config) and resolves it into a {@link FlywheelConfig} with every default
 * applied and every relative path absolute.
 * @throws ConfigError listing every problem found.
 */
export function resolveConfig(raw: unknown, ctx: ResolveContext): FlywheelConfig {
  const parsed = v.safeParse(CONFIG_SCHEMA, raw, { abortPipeEarly: true });
  if (!parsed.success) {
    const issues = parsed.issues.map((issue) => configIssueOf(issue, raw, ctx.text));
    throw new ConfigError(ctx.file, dedupeIssues(issues));
  }
  const c: RawConfig = parsed.output;
  const issues: ConfigIssue[] = [];
  const at = (path: (string | number)[], message: string) => issues.push({ path: dotPath(path), line: locate(ctx.text, path), message });

  const runtime = resolveRuntime(c.runtime ?? {}, ctx.file);
  const http = resolveHttp(c.http ?? {}, ctx.env);
  if (http.dashboard && !http.api) at(["http", "dashboard"], "the dashboard needs the API: set http.api: true, or http.dashboard: false");
  const alerts = resolveAlerts(c.alerts as RawAlert | RawAlert[] | undefined, ["alerts"], ctx.baseDir, at);
  const schedules: ScheduleConfig[] = [];
  const seen = new Map<string, number>();
  (c.schedules ?? []).forEach((s: Record<string, any>, i: number) => {
    const base: (string | number)[] = ["schedules", i];
    if (seen.has(s.slug)) at([...base, "slug"], `duplicate slug ${JSON.stringify(s.slug)} (also schedules[${seen.get(s.slug)}])`);
    seen.set(s.slug, i);
    if ((s.cron === undefined) === (s.every === undefined)) {
      at(s.cron === undefined ? base : [...base, "every"], "give exactly one of cron and every");
    }
    const timezone: string = s.timezone ?? PERIODIC_DEFAULTS.timezone;
    if (s.every !== undefined && s.every < 1000) at([...base, "every"], "expected at least 1s");
    if (s.every !== undefined && s.jitter !== undefined && s.jitter >= s.every) {
      // Each fire's job would start after the next fire: the schedule would overlap itself.
      at([...base, "jitter"], "expected a duration shorter than every");
    }
    const queue: string = s.queue ?? PERIODIC_DEFAULTS.queue;
    if (!runtime.queues.includes(queue)) {
      // No runner would ever claim its jobs: every fire would wait forever (and alert as missed).
      at(s.queue === undefined ? base : [...base, "queue"], `queue ${JSON.stringify(queue)} is not served: expected one of runtime.queues (${runtime.queues.join(", ")}), or add it there`);
    }
    const kind = s.worker as CommandKind;
    const args = resolveWorkerArgs(kind, s[kind] as Record<string, unknown>, base, ctx.baseDir, at);
    schedules.push({
      slug: s.slug,
      kind,
      cron: s.cron,
      everyMs: s.every,
      timezone,
      args,
      queue: s.queue,
      overlap: s.overlap,
      catchUp: s.catch_up ?? CONFIG_SCHEDULE_DEFAULTS.catchUp,
      backfill: s.backfill,
      maxAttempts: s.max_attempts ?? CONFIG_SCHEDULE_DEFAULTS.maxAttempts,
      priority: s.priority,
      timeoutMs: s.timeout ?? commandJobTimeout(args, runtime.killGraceMs),
      jitterMs: s.jitter,
      active: s.active ?? true,
      alerts: s.alerts === undefined ? alerts : resolveAlerts(s.alerts, [...base, "alerts"], ctx.baseDir, at),
      ping: s.ping ?? null,
      graceMs: s.grace ?? ALERT_DEFAULTS.graceMs,
    });
  });
  const bindings = resolveBindings(c.bindings, runtime.queues, ctx.baseDir, at);
  if (issues.length > 0) throw new ConfigError(ctx.file, issues);

  let db: DatabaseConfig;
  if (c.db?.postgres !== undefined) db = { kind: "postgres", url: c.db.postgres, ...(c.db.schema ? { schema: c.db.schema } : {}) };
  else if (c.db?.sqlite !== undefined) db = { kind: "sqlite", path: c.db.sqlite === ":memory:" ? ":memory:" : resolve(ctx.baseDir, expandHome(c.db.sqlite, ctx.env)) };
  else db = { kind: "sqlite", path: defaultDatabasePath(ctx.env) };

  return {
    file: ctx.file,
    source: ctx.source,
    baseDir: ctx.baseDir,
    db,
    runtime,
    http,
    // The logger's own defaults (core/logger.ts); job output stays out of the log unless asked for.
    log: applyLogEnv({ level: c.log?.level ?? LOG_DEFAULTS.level, format: c.log?.format ?? LOG_DEFAULTS.format, jobOutput: c.log?.job_output ?? LOG_DEFAULTS.jobOutput }, ctx.env),
    schedules,
    alerts,
    bindings,
    queues: resolveQueues(c.queues),
  };
}

/** `http:` with defaults: API and dashboard on; the token from the config, else the environment. */
function resolveHttp(h: NonNullable<RawConfig["http"]>, env: ConfigEnv): HttpConfig {
  return { api: h.api ?? true, dashboard: h.dashboard ?? true, apiToken: h.api_token ?? (env.FLYWHEEL_API_TOKEN || null) };
}

/**
 * `runtime:` with defaults: retention 30 days (the library's node keeps it off; a daemon's database should not
 * grow forever), the health sample off unless set (SPEC §7.4). The instance
 * defaults to this host and config file, so two daemons on one database never mistake each other's schedules
 * for their own (SPEC §21), while a restart of the same daemon finds its own again.
 */
function resolveRuntime(r: NonNullable<RawConfig["runtime"]>, file: string | null): RuntimeConfig {
  return {
    queues: r.queues ?? [...NODE_DEFAULTS.queues],
    concurrency: r.concurrency ?? RUNNER_DEFAULTS.concurrency,
    prefetch: r.prefetch ?? RUNNER_DEFAULTS.prefetch,
    leaseMs: r.lease ?? RUNNER_DEFAULTS.leaseMs,
    pollIntervalMs: r.poll_interval ?? RUNNER_DEFAULTS.pollIntervalMs,
    retentionMs: r.retention === undefined ? DAEMON_DEFAULTS.retentionMs : r.retention,
    httpAddr: r.http_addr === undefined ? { ...DEFAULT_HTTP_ADDR } : r.http_addr,
    healthSampleIntervalMs: r.health_sample_interval ?? null,
    envAllowlist: r.env_allowlist ?? [...COMMAND_WORKER_DEFAULTS.envAllowlist],
    drainTimeoutMs: r.drain_timeout ?? NODE_DEFAULTS.drainTimeoutMs,
    synchronous: r.synchronous ?? SQLITE_DEFAULTS.synchronous,
    retryBackoff: { baseMs: r.retry_backoff?.base ?? BACKOFF_DEFAULTS.baseMs, capMs: r.retry_backoff?.cap ?? BACKOFF_DEFAULTS.capMs },
    jobTimeoutMs: r.job_timeout === undefined ? RUNNER_DEFAULTS.jobTimeoutMs : r.job_timeout,
    killGraceMs: r.kill_grace ?? COMMAND_WORKER_DEFAULTS.killGraceMs,
    instance: r.instance ?? `${hostname()}:${file ?? "defaults"}`,
  };
}
