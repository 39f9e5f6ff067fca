import { fstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { VERSION } from "../core/version.ts";
import { fetchRelease, updateBaseUrl, type FetchLike } from "./release.ts";
import { compareVersions } from "./semver.ts";

/** How long a check result is trusted before the release source is asked again. */
export const UPDATE_CHECK_INTERVAL_MS = 24 * 60 * 60 * 1000;

/** The most time a background check may spend on the network; the command never waits longer than this. */
const UPDATE_CHECK_TIMEOUT_MS = 300;

/** The cache file's content (snake_case: it is a file other tools may read). */
export interface UpdateCheckCache {
  /** ISO-8601 instant of the last attempt, successful or not. */
  checked_at: string;
  /** Latest release version known (no `v`); a failed attempt keeps the previous value; `null` if none was ever seen. */
  latest: string | null;
  /** Release source that was asked; a different `FLYWHEEL_UPDATE_URL` invalidates the cache. */
  source: string;
}

type Env = Record<string, string | undefined>;

/**
 * Options for {@link maybeNotifyUpdate}. `{}` means: the real environment, stderr's TTY state, the wall clock,
 * the XDG cache file, and the running binary's version; every field exists so tests can pin one of them.
 */
export interface UpdateCheckOptions {
  env?: Env;
  /** Whether the user sees stderr. Defaults to `process.stderr.isTTY`; `FLYWHEEL_FORCE_TTY=1` in `env` overrides both. */
  isTTY?: boolean;
  /**
   * Whether this is the compiled binary. Defaults to `Bun.isStandaloneExecutable`: from source or npm,
   * "run flywheel self-update" would be the wrong advice, so no check is made.
   */
  compiled?: boolean;
  now?: () => Date;
  cachePath?: string;
  currentVersion?: string;
  baseUrl?: string;
  fetch?: FetchLike;
  timeoutMs?: number;
  /** Where the notice goes; defaults to stderr. */
  write?: (line: string) => void;
}

/**
 * `$XDG_CACHE_HOME/flywheel/update-check.json`, or `~/.cache/flywheel/update-check.json` when
 * `XDG_CACHE_HOME` is unset or relative (the XDG spec says to ignore relative values).
 */
export function updateCheckCachePath(env: Env = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), ".cache");
  return join(base, "flywheel", "update-check.json");
}

/**
 * Whether the passive check may run at all: never under `CI` (any value but empty, `0` or `false`), never
 * with `FLYWHEEL_NO_UPDATE_CHECK=1`, and only when a person can see stderr. Tests and demos set
 * `FLYWHEEL_FORCE_TTY=1` to count stderr as a terminal.
 */
export function updateCheckEnabled(env: Env = process.env, isTTY?: boolean): boolean {
  const ci = env.CI?.trim().toLowerCase();
  if (ci && ci !== "0" && ci !== "false") return false;
  if (env.FLYWHEEL_NO_UPDATE_CHECK === "1") return false;
  if (env.FLYWHEEL_FORCE_TTY === "1") return true;
  return isTTY ?? stderrIsTTY();
}

/**
 * Whether stderr is a terminal a person watches: `FLYWHEEL_FORCE_TTY=1` says yes (tests and demos), otherwise
 * stderr's TTY state. Decides whether self-update draws a progress bar.
 */
export function isStderrTerminal(env: Env = process.env): boolean {
  return env.FLYWHEEL_FORCE_TTY === "1" || stderrIsTTY();
}

/**
 * `process.stderr.isTTY`, with a fast path: a terminal is always a character device, so a pipe or file (the
 * usual case under cron and scripts) is ruled out by one fstat, without building the Node stream behind
 * `process.stderr`, which costs ~6 ms of startup in a compiled binary.
 */
function stderrIsTTY(): boolean {
  try {
    if (!fstatSync(2).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  return process.stderr.isTTY === true;
}

/** Reads the cache; `undefined` when it is missing or unreadable (a bad cache only means "check again"). */
export function readUpdateCheckCache(path: string): UpdateCheckCache | undefined {
  try {
    const raw = JSON.parse(readFileSync(path, "utf8")) as Partial<UpdateCheckCache>;
    if (typeof raw.checked_at !== "string" || typeof raw.source !== "string") return undefined;
    if (raw.latest !== null && typeof raw.latest !== "string") return undefined;
    return { checked_at: raw.checked_at, latest: raw.latest ?? null, source: raw.source };
  } catch {
    return undefined;
  }
}

/**
 * Writes the cache through a temp file and `rename`, so two flywheel processes finishing a check at once
 * cannot leave a torn file. Errors are swallowed: a read-only home must not break commands.
 */
export function writeUpdateCheckCache(path: string, cache: UpdateCheckCache): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(cache)}\n`);
    renameSync(tmp, path);
  } catch {
    // Without a cache we simply check again next time.
  }
}

/** Whether `cache` answers for `source` at `now` (younger than {@link UPDATE_CHECK_INTERVAL_MS}, not from the future). */
export function isCacheFresh(cache: UpdateCheckCache | undefined, source: string, now: Date): boolean {
  if (!cache || cache.source !== source) return false;
  const age = now.getTime() - Date.parse(cache.checked_at);
  // A clock that jumped backwards makes the age negative; treat that as stale rather than fresh for years.
  return Number.isFinite(age) && age >= 0 && age < UPDATE_CHECK_INTERVAL_MS;
}

/** The one-line notice when `latest` is newer than `current`, else `undefined` (also for unparseable versions). */
export function updateNotice(current: string, latest: string | null): string | undefined {
  if (!latest) return undefined;
  try {
    if (compareVersions(latest, current) <= 0) return undefined;
  } catch {
    return undefined;
  }
  return `flywheel ${latest} is available (you have ${current}): run \`flywheel self-update\``;
}

/**
 * The passive update check other commands call once at start. Synchronously, it prints the notice when the
 * cache already knows of a newer release; when the cache is older than 24 h it starts one request to the
 * release source, bounded by {@link UPDATE_CHECK_TIMEOUT_MS}, and records the answer for the next run.
 * It never throws and never blocks the command: the returned promise settles once the background request has
 * finished or timed out; await it before `process.exit` to keep the refreshed cache, or ignore it.
 * Silent unless stderr is a TTY; `CI` or `FLYWHEEL_NO_UPDATE_CHECK=1` turn it off (see {@link updateCheckEnabled}).
 * @example
 * const checked = maybeNotifyUpdate();
 * await runTheCommand();
 * await checked;
 */
export function maybeNotifyUpdate(options: UpdateCheckOptions = {}): Promise<void> {
  try {
    const env = options.env ?? process.env;
    if (!(options.compiled ?? Bun.isStandaloneExecutable)) return Promise.resolve();
    if (!updateCheckEnabled(env, options.isTTY)) return Promise.resolve();
    const now = (options.now ?? (() => new Date()))();
    const current = options.currentVersion ?? VERSION;
    const source = options.baseUrl ?? updateBaseUrl(env);
    const path = options.cachePath ?? updateCheckCachePath(env);
    const cache = readUpdateCheckCache(path);
    const fresh = isCacheFresh(cache, source, now);

    const notice = cache?.source === source ? updateNotice(current, cache.latest) : undefined;
    if (notice) (options.write ?? ((line: string) => console.error(line)))(notice);
    if (fresh) return Promise.resolve();

    const timeoutMs = options.timeoutMs ?? UPDATE_CHECK_TIMEOUT_MS;
    const http = { signal: AbortSignal.timeout(timeoutMs), ...(options.fetch ? { fetch: options.fetch } : {}) };
    return fetchRelease(source, undefined, http).then(
      (release) => writeUpdateCheckCache(path, { checked_at: now.toISOString(), latest: release.version, source }),
      // Remember the failure too, so an offline machine pays the timeout once a day, not on every command.
      () => writeUpdateCheckCache(path, { checked_at: now.toISOString(), latest: cache?.source === source ? cache.latest : null, source }),
    );
  } catch {
    return Promise.resolve();
  }
}
