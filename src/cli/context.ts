import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { connect, type Flywheel } from "../flywheel.ts";
import { commandJobTimeout, explainArgIssue, loadConfig, pathProblem, resolveCommandPaths, splitDotPath, type FlywheelConfig } from "../daemon/config/index.ts";
import { parseDuration } from "../core/duration.ts";
import type { Logger } from "../core/logger.ts";
import { loggerObserver } from "../observe/observer.ts";
import { commandWorkers, isCommandKind, validateCommandArgs } from "../workers/index.ts";

// What every database command shares: the `--config` and `--json` flags, the usage error, and opening the
// configured database. Commands stay thin: parse, call the library, render.

/** `--config <path>`, accepted by every command that reads the config. */
export const CONFIG_ARG = {
  config: {
    type: "string",
    valueHint: "path",
    description: "Config file (default: $FLYWHEEL_CONFIG, ./flywheel.yaml, $XDG_CONFIG_HOME/flywheel/flywheel.yaml)",
  },
} as const;

/** `--json`: stable machine-readable output on stdout. */
export const JSON_ARG = { json: { type: "boolean", description: "Print stable JSON instead of a table" } } as const;

/** A command line that cannot be run as given; `main.ts` prints it in one line and exits 2. */
export class UsageError extends Error {
  /** `main.ts` maps this code to exit status 2. */
  readonly code = "usage";
  constructor(message: string) {
    super(message.startsWith("flywheel:") ? message : `flywheel: ${message}`);
    this.name = "UsageError";
  }
}

/** Loads the config named by `--config` (or discovered). Throws ConfigError (exit 2) before any database is touched. */
export function readConfig(args: { config?: unknown }): FlywheelConfig {
  return loadConfig({ explicit: typeof args.config === "string" && args.config !== "" ? args.config : undefined });
}

/** Options for {@link openFlywheel}. `{}` means: silent, migrate the schema only if it is behind. */
export interface OpenOptions {
  logger?: Logger;
  /** Log every attempt's outcome and retry through `logger` (the daemon does; one-shot commands stay quiet). */
  logJobs?: boolean;
  /** `ifBehind` (default) upgrades an older schema so a fresh install works without `flywheel migrate`; `never` leaves it alone. */
  migrate?: "ifBehind" | "never";
}

/**
 * Opens the configured database (creating a SQLite file's directory) and registers the command workers, so
 * args given on the command line are validated at insert as they would be at run time.
 */
export async function openFlywheel(config: FlywheelConfig, options: OpenOptions = {}): Promise<Flywheel> {
  const db = config.db;
  const observers = options.logJobs && options.logger ? [loggerObserver(options.logger)] : [];
  let fw: Flywheel;
  if (db.kind === "sqlite") {
    if (db.path !== ":memory:") mkdirSync(dirname(db.path), { recursive: true });
    fw = await connect(`sqlite:${db.path}`, { logger: options.logger, observers, synchronous: config.runtime.synchronous });
  } else {
    fw = await connect(db.url, { logger: options.logger, observers, schema: db.schema });
  }
  try {
    if ((options.migrate ?? "ifBehind") === "ifBehind") {
      const { current, latest } = await fw.driver.schemaVersion();
      if (current < latest) await fw.migrate();
    }
    fw.register(
      ...commandWorkers({ envAllowlist: config.runtime.envAllowlist, baseDir: config.baseDir, killGraceMs: config.runtime.killGraceMs }),
    );
    return fw;
  } catch (error) {
    await fw.close();
    throw error;
  }
}

/** Loads the config, opens the database, runs `fn`, and closes the database whatever happens. */
export async function withFlywheel<T>(args: { config?: unknown }, fn: (fw: Flywheel, config: FlywheelConfig) => Promise<T>): Promise<T> {
  const config = readConfig(args);
  const fw = await openFlywheel(config);
  try {
    return await fn(fw, config);
  } finally {
    await fw.close();
  }
}

/** Parses a `--flag` integer; throws a UsageError naming the flag. */
export function intFlag(value: unknown, flag: string, min = Number.MIN_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  const n = Number(text);
  if (text === "" || !Number.isInteger(n) || n < min) {
    throw new UsageError(`--${flag}: expected a whole number${min > Number.MIN_SAFE_INTEGER ? ` ≥ ${min}` : ""}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** Parses a `--flag` duration (`10m`, `1h30m`); throws a UsageError naming the flag. */
export function durationFlag(value: unknown, flag: string): number {
  try {
    return parseDuration(String(value));
  } catch {
    throw new UsageError(`--${flag}: expected a duration such as 30s, 10m, 2h, got ${JSON.stringify(value)}`);
  }
}

/** Parses a JSON object given on the command line; throws a UsageError naming where it came from. */
export function jsonObjectArg(text: unknown, what: string): Record<string, unknown> {
  if (text === undefined || text === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(String(text));
  } catch (error) {
    throw new UsageError(`${what}: invalid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new UsageError(`${what}: expected a JSON object, e.g. '{"inline":"echo hi"}'`);
  return value as Record<string, unknown>;
}

/**
 * Checks args given on the command line for a command worker kind (other kinds pass through: an app's own
 * workers validate at run time) and makes their relative `script`/`dir` paths absolute against the cwd, where
 * the operator typed them. Also returns the runtime timeout those args imply (see `commandJobTimeout`).
 * @throws UsageError naming the flag and key, e.g. `--args: script: file not found: /home/me/x.sh`.
 */
export function commandArgsFromCli(
  kind: string,
  args: Record<string, unknown>,
  what: string,
  killGraceMs: number,
): { args: Record<string, unknown>; timeoutMs: number | undefined } {
  if (!isCommandKind(kind)) return { args, timeoutMs: undefined };
  const [issue] = validateCommandArgs(kind, args);
  if (issue) {
    const message = explainArgIssue(kind, splitDotPath(issue.path), issue.message, args);
    throw new UsageError(`${what}${issue.path ? `: ${issue.path}` : ""}: ${message}`);
  }
  const resolved = resolveCommandPaths(kind, args, process.cwd());
  for (const p of resolved.paths) {
    const problem = pathProblem(p.path, p.mustBe);
    if (problem) throw new UsageError(`${what}: ${p.key}: ${problem}`);
  }
  return { args: resolved.args, timeoutMs: commandJobTimeout(resolved.args, killGraceMs) };
}
