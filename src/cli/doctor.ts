import { existsSync } from "node:fs";
import { defineCommand } from "citty";
import { POSTGRES_DEFAULTS } from "../core/defaults.ts";
import { ConfigError, formatIssue, type FlywheelConfig } from "../daemon/config/index.ts";
import { openFlywheel } from "../daemon/open.ts";
import { formatDuration } from "../core/duration.ts";
import { FlywheelError } from "../core/errors.ts";
import { childEnv } from "../workers/env.ts";
import { commandRequirements } from "../workers/index.ts";
import { CONFIG_ARG, JSON_ARG, readConfig } from "./context.ts";
import { printJson } from "./render.ts";

/** One doctor finding. `fail` makes `doctor` exit 1; `warn` does not. */
export interface Check {
  name: string;
  status: "ok" | "warn" | "fail";
  detail: string;
}

const DB_TIMEOUT_MS = 5_000;

/**
 * Runs every check without changing anything: the config is parsed, the database is opened only if it exists
 * (a missing SQLite file is reported, not created), checked for damage (SQLite `quick_check`) and never migrated.
 */
async function diagnose(args: { config?: unknown }): Promise<{ checks: Check[]; config: FlywheelConfig | null }> {
  const checks: Check[] = [];
  let config: FlywheelConfig;
  try {
    config = readConfig(args);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const issue of error.issues) checks.push({ name: "config", status: "fail", detail: formatIssue(error.file, issue) });
    return { checks, config: null };
  }
  checks.push({
    name: "config",
    status: "ok",
    detail: config.file ? `${config.file} (${config.schedules.length} schedule${config.schedules.length === 1 ? "" : "s"})` : "no config file found; using defaults",
  });
  checks.push(...(await databaseChecks(config)));
  checks.push(...binaryChecks(config));
  return { checks, config };
}

async function databaseChecks(config: FlywheelConfig): Promise<Check[]> {
  const db = config.db;
  const where = db.kind === "sqlite" ? `sqlite ${db.path}` : `postgres ${redact(db.url)}${db.schema ? ` schema ${db.schema}` : ""}`;
  if (db.kind === "sqlite" && db.path !== ":memory:" && !existsSync(db.path)) {
    return [{ name: "database", status: "warn", detail: `${where} does not exist yet (\`flywheel serve\` or \`flywheel migrate\` creates it)` }];
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FlywheelError("unavailable", `no answer within ${DB_TIMEOUT_MS / 1000}s`)), DB_TIMEOUT_MS);
  });
  try {
    return await Promise.race([
      (async () => {
        const fw = await openFlywheel(config, { migrate: "never" });
        try {
          await fw.driver.dbCheck({ integrity: true });
          const { current, latest } = await fw.driver.schemaVersion();
          const schema: Check =
            current === latest
              ? { name: "schema", status: "ok", detail: `version ${current} (latest)` }
              : current < latest
                ? { name: "schema", status: "warn", detail: `version ${current}, latest ${latest} (\`flywheel serve\` migrates at start, or run \`flywheel migrate\`)` }
                : { name: "schema", status: "fail", detail: `version ${current} is newer than this flywheel knows (${latest}); upgrade flywheel` };
          return [{ name: "database", status: "ok", detail: `${where} answers` } satisfies Check, schema];
        } finally {
          await fw.close();
        }
      })(),
      timeout,
    ]);
  } catch (error) {
    const message = ((error as Error).message.split("\n")[0] ?? "").replace(/^(flywheel|jobs): /, "");
    // A damaged SQLite file's message names the file itself (`the SQLite file … is damaged`); say it once.
    const named = db.kind === "sqlite" && message.includes(db.path);
    return [{ name: "database", status: "fail", detail: named ? message : `${where}: ${message}` }];
  } finally {
    clearTimeout(timer);
  }
}

/** Every binary the schedules need, looked up on the PATH their jobs will see (allow-listed host PATH, or `env:`). */
function binaryChecks(config: FlywheelConfig): Check[] {
  const needs = new Map<string, { slugs: string[]; path: string | undefined }>();
  for (const s of config.schedules) {
    const env = childEnv(config.runtime.envAllowlist, (s.args.env as Record<string, string> | undefined) ?? {});
    for (const bin of commandRequirements(s.kind, s.args)) {
      const key = `${bin}\0${env.PATH ?? ""}`;
      const entry = needs.get(key) ?? { slugs: [], path: env.PATH };
      entry.slugs.push(s.slug);
      needs.set(key, entry);
    }
  }
  return [...needs].map(([key, { slugs, path }]) => {
    const bin = key.split("\0")[0]!;
    // Without PATH in the child's env, Bun.spawn falls back to the daemon's own PATH.
    const found = Bun.which(bin, { PATH: path ?? process.env.PATH ?? "" });
    const by = `needed by ${slugs.join(", ")}`;
    return found
      ? { name: bin, status: "ok", detail: `${found} (${by})` }
      : { name: bin, status: "warn", detail: `not found on PATH (${by}); those jobs will fail until it is installed` };
  });
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}

/** The effective settings after defaults, as `doctor` prints them. */
function effectiveSettings(config: FlywheelConfig) {
  const r = config.runtime;
  const d = (ms: number | null) => (ms === null ? "off" : formatDuration(ms));
  return {
    config: config.file,
    db: config.db.kind === "sqlite" ? { sqlite: config.db.path } : { postgres: redact(config.db.url), schema: config.db.schema ?? POSTGRES_DEFAULTS.schema },
    runtime: {
      queues: r.queues,
      concurrency: r.concurrency,
      prefetch: r.prefetch,
      lease: d(r.leaseMs),
      poll_interval: d(r.pollIntervalMs),
      retention: d(r.retentionMs),
      http_addr: r.httpAddr ? `${r.httpAddr.hostname}:${r.httpAddr.port}` : "off",
      health_sample_interval: d(r.healthSampleIntervalMs),
      env_allowlist: r.envAllowlist,
      drain_timeout: d(r.drainTimeoutMs),
      synchronous: r.synchronous,
      retry_backoff: { base: d(r.retryBackoff.baseMs), cap: d(r.retryBackoff.capMs) },
      job_timeout: d(r.jobTimeoutMs),
      kill_grace: d(r.killGraceMs),
      instance: r.instance,
    },
    // The token itself never leaves the config: doctor output gets pasted into tickets.
    http: { api: config.http.api, dashboard: config.http.dashboard, api_token: config.http.apiToken === null ? "(not set)" : "(set)" },
    log: { level: config.log.level, format: config.log.format, job_output: config.log.jobOutput },
    schedules: config.schedules.map((s) => s.slug),
  };
}

/**
 * `flywheel doctor [--json]`: config validity, database reachability, schema version, the binaries the
 * schedules need, and the effective settings. Changes nothing. Exits 1 when a check fails (an invalid config
 * included); warnings such as a missing `python3` do not fail it.
 */
export default defineCommand({
  meta: {
    name: "doctor",
    description: "Check config, database, schema and the binaries schedules need; print effective settings",
    examples: ["flywheel doctor", "flywheel doctor --config ./flywheel.yaml --json"],
  },
  args: { ...CONFIG_ARG, ...JSON_ARG },
  async run({ args }) {
    const { checks, config } = await diagnose(args);
    const ok = checks.every((c) => c.status !== "fail");
    if (args.json) {
      printJson({ ok, checks, settings: config ? effectiveSettings(config) : null });
    } else {
      const width = Math.max(...checks.map((c) => c.name.length));
      for (const c of checks) console.log(`${{ ok: "ok  ", warn: "warn", fail: "FAIL" }[c.status]}  ${c.name.padEnd(width)}  ${c.detail}`);
      if (config) console.log(`\neffective settings\n${indentYaml(effectiveSettings(config))}`);
    }
    if (!ok) process.exitCode = 1;
  },
});

/** A small YAML-ish rendering of plain data for people; `--json` is the machine form. */
function indentYaml(value: unknown, depth = 1): string {
  const pad = "  ".repeat(depth);
  return Object.entries(value as Record<string, unknown>)
    .map(([k, v]) =>
      v !== null && typeof v === "object" && !Array.isArray(v)
        ? `${pad}${k}:\n${indentYaml(v, depth + 1)}`
        : `${pad}${k}: ${Array.isArray(v) ? `[${v.join(", ")}]` : String(v ?? "-")}`,
    )
    .join("\n");
}
