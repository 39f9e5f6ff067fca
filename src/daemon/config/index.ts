import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { discoverConfig } from "./discover.ts";
import { ConfigError } from "./issues.ts";
import { yamlErrorPosition } from "./locate.ts";
import { resolveConfig } from "./resolve.ts";
import type { ConfigEnv, ConfigSource, FlywheelConfig } from "./types.ts";

// `flywheel.yaml`: discovery, parsing (Bun's YAML), validation (valibot) and resolution into a FlywheelConfig
// with every default applied and every relative path made absolute. Nothing here opens the database, so a bad
// config can never touch it.

export { defaultDatabasePath, discoverConfig } from "./discover.ts";
export { ConfigError, explainArgIssue, formatIssue, type ConfigIssue } from "./issues.ts";
export { applyLogEnv, LOG_ENV } from "./log-env.ts";
export { dotPath, locate, splitDotPath, yamlErrorPosition } from "./locate.ts";
export { commandJobTimeout, expandHome, pathProblem, resolveCommandPaths } from "./paths.ts";
export { DEFAULT_HTTP_ADDR } from "./resolve.ts";
export { parseHttpAddr } from "./schema.ts";
export type { ConfigEnv, ConfigSource, DatabaseConfig, FlywheelConfig, HttpAddress, HttpConfig, LogConfig, RuntimeConfig, ScheduleConfig } from "./types.ts";

/**
 * Discovers, reads and validates the config (see {@link discoverConfig}); without one, returns the defaults
 * (SQLite at `defaultDatabasePath()`, no schedules). `{}` means: `process.env`, the current directory, no `--config`.
 * @throws ConfigError naming the file, key path and line of the first problem.
 * @example const config = loadConfig({ explicit: args.config });
 */
export function loadConfig(options: { explicit?: string; env?: ConfigEnv; cwd?: string } = {}): FlywheelConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const found = discoverConfig(options.explicit, env, cwd);
  if (!found) return resolveConfig({}, { file: null, source: "defaults", baseDir: cwd, env, text: "" });
  let text: string;
  try {
    text = readFileSync(found.file, "utf8");
  } catch (error) {
    throw new ConfigError(found.file, [{ path: "", message: `cannot read: ${(error as Error).message}` }]);
  }
  return parseConfig(text, { file: found.file, source: found.source, env });
}

/**
 * Parses and validates config text as if read from `file` (relative paths resolve against its directory).
 * `source` defaults to `flag`, `env` to `process.env`.
 * @throws ConfigError
 * @example const config = parseConfig("db: { sqlite: ./jobs.db }\n", { file: "/etc/flywheel/flywheel.yaml" });
 */
export function parseConfig(text: string, options: { file: string; source?: ConfigSource; env?: ConfigEnv }): FlywheelConfig {
  const file = options.file;
  let raw: unknown;
  try {
    raw = Bun.YAML.parse(text);
  } catch (error) {
    // Bun's YAML errors carry no position in the YAML text; yamlErrorPosition finds it by re-parsing prefixes.
    const at = yamlErrorPosition(text);
    throw new ConfigError(file, [{ path: "", ...at, message: `invalid YAML: ${(error as Error).message.replace(/^YAML Parse error:\s*/, "")}` }]);
  }
  if (Array.isArray(raw) && text.split("\n").some((l) => /^---\s*$/.test(l))) {
    throw new ConfigError(file, [{ path: "", message: "expected one YAML document, found several (remove the `---` separators)" }]);
  }
  return resolveConfig(raw ?? {}, { file, source: options.source ?? "flag", baseDir: dirname(file), env: options.env ?? process.env, text });
}
