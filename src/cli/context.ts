import type { Flywheel } from "../flywheel.ts";
import { parseDuration } from "../core/duration.ts";
import {
  commandJobTimeout,
  explainArgIssue,
  loadConfig,
  pathProblem,
  resolveCommandPaths,
  splitDotPath,
  type FlywheelConfig,
} from "../daemon/config/index.ts";
import { openFlywheel } from "../daemon/open.ts";
import { isCommandKind, validateCommandArgs } from "../workers/index.ts";
import { UsageError } from "./usage-error.ts";

// What the commands share: the `--config` and `--json` flags, parsing flag values into UsageErrors, and a
// config-opened client for the length of one command. Opening, migrating and running live in src/daemon.

/** `--config <path>`, accepted by every command that reads the config. */
export const CONFIG_ARG = {
  config: {
    type: "string",
    valueHint: "path",
    description: "Config file (default: $FLYWHEEL_CONFIG, ./flywheel.yaml, $XDG_CONFIG_HOME/flywheel/flywheel.yaml)",
  },
} as const;

/** `<id>`: a job id, or a prefix of one (8+ characters, as tables show them); resolve it with `fw.resolveJobId`. */
export const JOB_ID_ARG = { id: { type: "positional", description: "Job id, or a unique prefix of it (8+ characters)", required: true } } as const;

/** `--json`: stable machine-readable output on stdout. */
export const JSON_ARG = { json: { type: "boolean", description: "Print stable JSON instead of a table" } } as const;

/** Loads the config named by `--config` (or discovered). Throws ConfigError (exit 2) before any database is touched. */
export function readConfig(args: { config?: unknown }): FlywheelConfig {
  return loadConfig({ explicit: typeof args.config === "string" && args.config !== "" ? args.config : undefined });
}

/** Loads the config, opens the database (see `openFlywheel`), runs `fn`, and closes the database whatever happens. */
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

/**
 * Parses a `--flag` duration (`10m`, `1h30m`); throws a UsageError naming the flag. A bare number is refused on
 * the command line (the library reads it as milliseconds, which nobody typing `--older-than 30` means).
 */
export function durationFlag(value: unknown, flag: string): number {
  const text = String(value).trim();
  const refused = () => new UsageError(`--${flag}: expected a duration with a unit (ms, s, m, h, d) such as 30s, 10m, 2h or 30d, got ${JSON.stringify(value)}`);
  if (!/[a-z]$/.test(text)) throw refused();
  try {
    return parseDuration(text);
  } catch {
    throw refused();
  }
}

/** Parses any JSON value given on the command line (undefined when not given); throws a UsageError naming `what`. */
export function jsonValueArg(text: unknown, what: string): unknown {
  if (text === undefined || text === "") return undefined;
  try {
    return JSON.parse(String(text));
  } catch (error) {
    throw new UsageError(`${what}: invalid JSON: ${(error as Error).message}`);
  }
}

/** Parses a JSON object given on the command line; throws a UsageError naming where it came from. */
export function jsonObjectArg(text: unknown, what: string): Record<string, unknown> {
  const value = jsonValueArg(text, what);
  if (value === undefined) return {};
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
