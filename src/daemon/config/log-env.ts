import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from "../../core/logger.ts";
import { ConfigError } from "./issues.ts";
import type { ConfigEnv, LogConfig } from "./types.ts";

// `FLYWHEEL_LOG_FORMAT` and `FLYWHEEL_LOG_LEVEL` over the config's `log:`: a container or a unit file sets how
// the daemon logs without editing the config. Applied when the config is resolved, so every command that
// reads a config (serve, its logger, doctor) sees the same settings.

/** The variables that override `log:`, by the key they override. */
export const LOG_ENV = { format: "FLYWHEEL_LOG_FORMAT", level: "FLYWHEEL_LOG_LEVEL" } as const;

/**
 * `log` with the environment's overrides applied. A variable that is unset or empty leaves the config's value;
 * values are case-insensitive (`JSON`, `Debug`).
 * @throws ConfigError (`config_invalid`, exit 2) naming the variable when its value is not one of the choices.
 */
export function applyLogEnv(log: LogConfig, env: ConfigEnv): LogConfig {
  return {
    ...log,
    format: fromEnv(env, LOG_ENV.format, LOG_FORMATS) ?? log.format,
    level: fromEnv(env, LOG_ENV.level, LOG_LEVELS) ?? log.level,
  };
}

function fromEnv<T extends LogFormat | LogLevel>(env: ConfigEnv, name: string, choices: readonly T[]): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  const value = raw.trim().toLowerCase();
  if ((choices as readonly string[]).includes(value)) return value as T;
  // Not in the file: the issue names the variable, and no file or line.
  throw new ConfigError(null, [{ path: name, message: `expected one of ${choices.join(", ")}, got ${JSON.stringify(raw)}` }]);
}
