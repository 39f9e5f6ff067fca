import { existsSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { ConfigError } from "./issues.ts";
import type { ConfigEnv, ConfigSource } from "./types.ts";

// Where the config file and the default database live (SPEC §12): `--config`, `$FLYWHEEL_CONFIG`,
// `./flywheel.yaml`, then the XDG config directory; the database defaults to the XDG state directory.

/** An XDG base directory: the variable when it is an absolute path (the spec says to ignore relative ones), else `~/<fallback>`. */
function xdgDir(env: ConfigEnv, variable: string, fallback: string): string {
  const value = env[variable];
  return value && isAbsolute(value) ? value : join(env.HOME || homedir(), fallback);
}

/** `$XDG_STATE_HOME/flywheel/flywheel.db` (default `~/.local/state/flywheel/flywheel.db`): the database when no config names one. */
export function defaultDatabasePath(env: ConfigEnv = process.env): string {
  return join(xdgDir(env, "XDG_STATE_HOME", ".local/state"), "flywheel", "flywheel.db");
}

/**
 * Finds the config file: `explicit` (`--config`), else `$FLYWHEEL_CONFIG`, `./flywheel.yaml`, then
 * `$XDG_CONFIG_HOME/flywheel/flywheel.yaml`. An explicitly named file must exist; the others are optional.
 * Returns null when there is none.
 * @throws ConfigError when `--config` or `$FLYWHEEL_CONFIG` names a missing file.
 */
export function discoverConfig(
  explicit: string | undefined,
  env: ConfigEnv = process.env,
  cwd: string = process.cwd(),
): { file: string; source: Exclude<ConfigSource, "defaults"> } | null {
  const named =
    explicit !== undefined
      ? { path: explicit, source: "flag" as const, what: "--config" }
      : env.FLYWHEEL_CONFIG
        ? { path: env.FLYWHEEL_CONFIG, source: "env" as const, what: "$FLYWHEEL_CONFIG" }
        : null;
  if (named) {
    const file = resolve(cwd, named.path);
    if (!statSync(file, { throwIfNoEntry: false })?.isFile()) {
      throw new ConfigError(file, [{ path: "", message: `config file not found (named by ${named.what})` }]);
    }
    return { file, source: named.source };
  }
  const local = resolve(cwd, "flywheel.yaml");
  if (existsSync(local)) return { file: local, source: "cwd" };
  const xdg = join(xdgDir(env, "XDG_CONFIG_HOME", ".config"), "flywheel", "flywheel.yaml");
  if (existsSync(xdg)) return { file: xdg, source: "xdg" };
  return null;
}
