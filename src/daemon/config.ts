import { existsSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import * as v from "valibot";
import { DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_CAP_MS } from "../jobs/retry-policy.ts";
import { parseDuration } from "../core/duration.ts";
import { FlywheelError } from "../core/errors.ts";
import type { LogLevel } from "../core/logger.ts";
import { NODE_DEFAULTS } from "../node/node.ts";
import { RUNNER_DEFAULTS } from "../jobs/runner.ts";
import { assertTimezone, parseCron } from "../periodic/schedule.ts";
import type { CatchUp, Overlap } from "../core/types.ts";
import {
  COMMAND_KINDS,
  DEFAULT_ENV_ALLOWLIST,
  DEFAULT_KILL_GRACE_MS,
  EXEC_ARGS,
  HTTP_ARGS,
  MAGE_ARGS,
  PYTHON_ARGS,
  SHELL_ARGS,
  type CommandKind,
  validateCommandArgs,
} from "../workers/index.ts";

// `flywheel.yaml`: discovery, parsing (Bun's YAML), validation (valibot) and resolution into a FlywheelConfig
// with every default applied and every relative path made absolute. Nothing here opens the database, so a bad
// config can never touch it.

/** Where flywheel listens for HTTP (`/healthz`, `/readyz`, `/metrics`). */
export interface HttpAddress {
  hostname: string;
  /** `0` picks a free port. */
  port: number;
}

/** The database a config points at. A relative SQLite path is already resolved against the config's directory. */
export type DatabaseConfig = { kind: "sqlite"; path: string } | { kind: "postgres"; url: string; schema?: string };

/** `runtime:` with defaults applied; durations in milliseconds, `null` meaning off. */
export interface RuntimeConfig {
  queues: string[];
  concurrency: number;
  /** Jobs claimed ahead of free slots (opt-in batching); 0 is off. */
  prefetch: number;
  leaseMs: number;
  pollIntervalMs: number;
  /** Hard-delete finished jobs older than this; off by default. */
  retentionMs: number | null;
  /** `null` when `http_addr: off`. */
  httpAddr: HttpAddress | null;
  healthSampleIntervalMs: number | null;
  envAllowlist: string[];
  drainTimeoutMs: number;
  synchronous: "normal" | "full";
  /** Retry backoff of the daemon's runner (SPEC §6.5); tests shrink it to milliseconds. */
  retryBackoff: { baseMs: number; capMs: number };
  /** Timeout for jobs that set none themselves; `null` for none. */
  jobTimeoutMs: number | null;
  /** Command workers: SIGTERM → SIGKILL grace for a job's process group. */
  killGraceMs: number;
}

/** One entry of `schedules:`, validated: its worker args are checked and their paths absolute. */
export interface ScheduleConfig {
  slug: string;
  /** The command worker kind (`worker:`). */
  kind: CommandKind;
  cron?: string;
  /** `every:` in milliseconds. */
  everyMs?: number;
  timezone: string;
  args: Record<string, unknown>;
  queue?: string;
  overlap?: Overlap;
  catchUp?: CatchUp;
  backfill?: number;
  maxAttempts?: number;
  priority?: number;
  /** The runtime's deadline for each fire's job; derived from the worker's `timeout_seconds` when not given. */
  timeoutMs?: number;
  active: boolean;
}

/** A loaded, validated config. Without a config file every field holds its default. */
export interface FlywheelConfig {
  /** Absolute path of the file read, or `null` when none was found. */
  file: string | null;
  /** How the file was found: `--config`, `$FLYWHEEL_CONFIG`, `./flywheel.yaml`, the XDG path, or `defaults`. */
  source: "flag" | "env" | "cwd" | "xdg" | "defaults";
  /** Relative paths (sqlite, scripts, `dir`) resolve against this: the config file's directory, else the cwd. */
  baseDir: string;
  db: DatabaseConfig;
  runtime: RuntimeConfig;
  log: { level: LogLevel; format: "text" | "json" };
  schedules: ScheduleConfig[];
}

/** One problem in a config file: the key path (`schedules[2].shell.script`), its line when found, and what was expected. */
export interface ConfigIssue {
  path: string;
  line?: number;
  message: string;
}

/**
 * A config file that cannot be used. `message` is one line, `flywheel: <file>:<line>: <key>: <what>`, for the
 * first issue; `issues` holds them all. `code` is `config_invalid`, which the CLI maps to exit status 2.
 */
export class ConfigError extends FlywheelError {
  readonly file: string | null;
  readonly issues: ConfigIssue[];
  constructor(file: string | null, issues: ConfigIssue[]) {
    const first = issues[0] ?? { path: "", message: "invalid config" };
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more; run \`flywheel doctor\`)` : "";
    super("config_invalid", `flywheel: ${formatIssue(file, first)}${more}`);
    this.name = "ConfigError";
    this.file = file;
    this.issues = issues;
  }
}

/** `file:line: key: message`, leaving out what is unknown. */
export function formatIssue(file: string | null, issue: ConfigIssue): string {
  const where = file === null ? "" : issue.line !== undefined ? `${file}:${issue.line}: ` : `${file}: `;
  return `${where}${issue.path ? `${issue.path}: ` : ""}${issue.message}`;
}

// ---- discovery -------------------------------------------------------------------------------------------------

type Env = Record<string, string | undefined>;

/** An XDG base directory: the variable when it is an absolute path (the spec says to ignore relative ones), else `~/<fallback>`. */
function xdgDir(env: Env, variable: string, fallback: string): string {
  const value = env[variable];
  return value && isAbsolute(value) ? value : join(env.HOME || homedir(), fallback);
}

/** `$XDG_STATE_HOME/flywheel/flywheel.db` (default `~/.local/state/flywheel/flywheel.db`): the database when no config names one. */
export function defaultDatabasePath(env: Env = process.env): string {
  return join(xdgDir(env, "XDG_STATE_HOME", ".local/state"), "flywheel", "flywheel.db");
}

/**
 * Finds the config file: `explicit` (`--config`), else `$FLYWHEEL_CONFIG`, `./flywheel.yaml`, then
 * `$XDG_CONFIG_HOME/flywheel/flywheel.yaml`. An explicitly named file must exist; the others are optional.
 * @throws ConfigError when `--config` or `$FLYWHEEL_CONFIG` names a missing file.
 */
export function discoverConfig(
  explicit: string | undefined,
  env: Env = process.env,
  cwd: string = process.cwd(),
): { file: string; source: FlywheelConfig["source"] } | null {
  const named = explicit !== undefined ? { path: explicit, source: "flag" as const, what: "--config" } : env.FLYWHEEL_CONFIG ? { path: env.FLYWHEEL_CONFIG, source: "env" as const, what: "$FLYWHEEL_CONFIG" } : null;
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

/**
 * Discovers, reads and validates the config (see {@link discoverConfig}); without one, returns the defaults
 * (SQLite at {@link defaultDatabasePath}, no schedules).
 * @throws ConfigError naming the file, key path and line of the first problem.
 * @example const config = loadConfig({ explicit: args.config });
 */
export function loadConfig(options: { explicit?: string; env?: Env; cwd?: string } = {}): FlywheelConfig {
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
 * @throws ConfigError
 */
export function parseConfig(text: string, options: { file: string; source?: FlywheelConfig["source"]; env?: Env }): FlywheelConfig {
  const file = options.file;
  let raw: unknown;
  try {
    raw = Bun.YAML.parse(text);
  } catch (error) {
    // Bun's YAML errors carry no position in the YAML text; the message is all there is.
    throw new ConfigError(file, [{ path: "", message: `invalid YAML: ${(error as Error).message.replace(/^YAML Parse error:\s*/, "")}` }]);
  }
  if (Array.isArray(raw) && text.split("\n").some((l) => /^---\s*$/.test(l))) {
    throw new ConfigError(file, [{ path: "", message: "expected one YAML document, found several (remove the `---` separators)" }]);
  }
  return resolveConfig(raw ?? {}, { file, source: options.source ?? "flag", baseDir: dirname(file), env: options.env ?? process.env, text });
}

// ---- schema ----------------------------------------------------------------------------------------------------

const DURATION_HINT = 'expected a duration with a unit (ms, s, m, h, d), e.g. "30s"';
const DURATION_WITH_UNIT = /^\s*(\d+(\.\d+)?(ms|s|m|h|d))+\s*$/;

/** A duration string with a unit; a bare number is refused because its unit would be a guess. */
const duration = v.pipe(
  v.string(DURATION_HINT),
  v.check((s) => DURATION_WITH_UNIT.test(s), DURATION_HINT),
  v.transform((s) => parseDuration(s)),
);

/** A duration, or `off` / `false` (→ null). */
const durationOrOff = v.pipe(
  v.union([v.literal(false), v.string()], `${DURATION_HINT} or off`),
  v.check((s) => s === false || s === "off" || DURATION_WITH_UNIT.test(s), `${DURATION_HINT} or off`),
  v.transform((s) => (s === false || s === "off" ? null : parseDuration(s))),
);

const nonEmpty = v.pipe(v.string("expected a string"), v.minLength(1, "expected a non-empty string"));
const positiveInt = v.pipe(v.number("expected a whole number"), v.integer("expected a whole number"), v.minValue(1, "expected at least 1"));
const oneOf = <const T extends string>(values: readonly [T, ...T[]]) =>
  v.picklist(values, `expected one of ${values.join(", ")}`);

const DB = v.pipe(
  v.strictObject({
    sqlite: v.optional(nonEmpty),
    postgres: v.optional(v.pipe(nonEmpty, v.regex(/^postgres(ql)?:\/\//, "expected a postgres:// URL"))),
    schema: v.optional(v.pipe(nonEmpty, v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected an SQL identifier"))),
  }),
  v.check((db) => (db.sqlite === undefined) !== (db.postgres === undefined), "give exactly one of sqlite and postgres"),
  v.forward(v.check((db) => db.schema === undefined || db.postgres !== undefined, "schema applies to postgres only"), ["schema"]),
);

const HTTP_ADDR_HINT = 'expected host:port (e.g. "127.0.0.1:9090"; port 0 picks one) or off';

const RUNTIME = v.strictObject({
  queues: v.optional(v.pipe(v.array(nonEmpty, "expected a list of queue names"), v.minLength(1, "expected at least one queue"))),
  concurrency: v.optional(positiveInt),
  prefetch: v.optional(v.pipe(v.number("expected a whole number"), v.integer("expected a whole number"), v.minValue(0, "expected 0 or more"))),
  lease: v.optional(duration),
  poll_interval: v.optional(duration),
  retention: v.optional(durationOrOff),
  http_addr: v.optional(
    v.pipe(
      v.union([v.literal(false), v.string()], HTTP_ADDR_HINT),
      v.check((s) => s === false || s === "off" || parseHttpAddr(s) !== null, HTTP_ADDR_HINT),
      v.transform((s) => (s === false || s === "off" ? null : parseHttpAddr(s))),
    ),
  ),
  health_sample_interval: v.optional(durationOrOff),
  env_allowlist: v.optional(v.array(v.pipe(nonEmpty, v.regex(/^[^=\0]+$/, "expected a variable name")), "expected a list of variable names")),
  drain_timeout: v.optional(duration),
  synchronous: v.optional(oneOf(["normal", "full"])),
  retry_backoff: v.optional(v.strictObject({ base: v.optional(duration), cap: v.optional(duration) })),
  job_timeout: v.optional(durationOrOff),
  kill_grace: v.optional(duration),
});

const LOG = v.strictObject({
  level: v.optional(oneOf(["debug", "info", "warn", "error"])),
  format: v.optional(oneOf(["text", "json"])),
});

const SCHEDULE_FIELDS = {
  slug: v.pipe(nonEmpty, v.regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, "expected letters, digits and . _ : - (e.g. nightly-backup)")),
  cron: v.optional(
    v.pipe(
      nonEmpty,
      // Syntax only (in UTC); the timezone is checked on its own key. Inside the schema so doctor lists it with the rest.
      v.rawCheck(({ dataset, addIssue }) => {
        if (!dataset.typed) return;
        try {
          parseCron(dataset.value, "UTC");
        } catch (error) {
          addIssue({ message: (error as Error).message.replace(/^flywheel: /, "").replace(/ \(timezone UTC\)/, "") });
        }
      }),
    ),
  ),
  every: v.optional(duration),
  timezone: v.optional(
    v.pipe(
      nonEmpty,
      v.check((tz) => {
        try {
          assertTimezone(tz);
          return true;
        } catch {
          return false;
        }
      }, "unknown timezone; expected an IANA name such as Europe/Berlin"),
    ),
  ),
  overlap: v.optional(oneOf(["skip", "allow"])),
  catch_up: v.optional(oneOf(["all", "latest", "none"])),
  backfill: v.optional(positiveInt),
  max_attempts: v.optional(positiveInt),
  priority: v.optional(v.pipe(v.number("expected a whole number"), v.integer("expected a whole number"))),
  queue: v.optional(nonEmpty),
  timeout: v.optional(duration),
  active: v.optional(v.boolean("expected true or false")),
};

const WORKER_ARGS = v.record(v.string(), v.unknown(), "expected a mapping of worker arguments");

/** One strict object per worker type: the worker's own key is required, every other worker's key is unknown. */
const SCHEDULE = v.variant(
  "worker",
  COMMAND_KINDS.map((kind) => v.strictObject({ ...SCHEDULE_FIELDS, worker: v.literal(kind), [kind]: WORKER_ARGS })) as unknown as [
    v.StrictObjectSchema<any, any>,
    ...v.StrictObjectSchema<any, any>[],
  ],
  `expected one of ${COMMAND_KINDS.join(", ")}`,
);

const CONFIG = v.strictObject(
  {
    db: v.optional(DB),
    runtime: v.optional(RUNTIME),
    log: v.optional(LOG),
    schedules: v.optional(v.array(SCHEDULE, "expected a list of schedules")),
  },
  "expected a mapping with db, runtime, log and schedules",
);

type RawConfig = v.InferOutput<typeof CONFIG>;

/** `host:port`, `[v6]:port` or `:port` (loopback); null when malformed. */
export function parseHttpAddr(text: string): HttpAddress | null {
  const m = /^(?:\[([^\]]+)\]|([^:\s]*)):(\d{1,5})$/.exec(text.trim());
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65_535) return null;
  return { hostname: m[1] ?? (m[2] || "127.0.0.1"), port };
}

// ---- resolution ------------------------------------------------------------------------------------------------

function resolveConfig(
  raw: unknown,
  ctx: { file: string | null; source: FlywheelConfig["source"]; baseDir: string; env: Env; text: string },
): FlywheelConfig {
  const parsed = v.safeParse(CONFIG, raw, { abortPipeEarly: true });
  if (!parsed.success) {
    const issues = parsed.issues.map((issue) => issueOf(issue, raw, ctx.text));
    throw new ConfigError(ctx.file, dedupe(issues));
  }
  const c: RawConfig = parsed.output;
  const issues: ConfigIssue[] = [];
  const at = (path: (string | number)[], message: string) => issues.push({ path: dotPath(path), line: locate(ctx.text, path), message });

  const runtime = resolveRuntime(c.runtime ?? {});
  const schedules: ScheduleConfig[] = [];
  const seen = new Map<string, number>();
  (c.schedules ?? []).forEach((s: Record<string, any>, i: number) => {
    const base: (string | number)[] = ["schedules", i];
    if (seen.has(s.slug)) at([...base, "slug"], `duplicate slug ${JSON.stringify(s.slug)} (also schedules[${seen.get(s.slug)}])`);
    seen.set(s.slug, i);
    if ((s.cron === undefined) === (s.every === undefined)) {
      at(s.cron === undefined ? base : [...base, "every"], "give exactly one of cron and every");
    }
    const timezone: string = s.timezone ?? "UTC";
    if (s.every !== undefined && s.every < 1000) at([...base, "every"], "expected at least 1s");
    const kind = s.worker as CommandKind;
    const rawArgs = s[kind] as Record<string, unknown>;
    const argIssues = validateCommandArgs(kind, rawArgs);
    for (const issue of argIssues) {
      const path = splitDotPath(issue.path);
      at([...base, kind, ...path], explainArgIssue(kind, path, issue.message, rawArgs));
    }
    let args = rawArgs;
    if (argIssues.length === 0) {
      const resolved = resolveCommandPaths(kind, rawArgs, ctx.baseDir);
      args = resolved.args;
      for (const p of resolved.paths) {
        const problem = pathProblem(p.path, p.mustBe);
        if (problem) at([...base, kind, p.key], problem);
      }
    }
    schedules.push({
      slug: s.slug,
      kind,
      cron: s.cron,
      everyMs: s.every,
      timezone,
      args,
      queue: s.queue,
      overlap: s.overlap,
      catchUp: s.catch_up,
      backfill: s.backfill,
      maxAttempts: s.max_attempts,
      priority: s.priority,
      timeoutMs: s.timeout ?? commandJobTimeout(args, runtime.killGraceMs),
      active: s.active ?? true,
    });
  });
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
    log: { level: c.log?.level ?? "info", format: c.log?.format ?? "text" },
    schedules,
  };
}

function resolveRuntime(r: NonNullable<RawConfig["runtime"]>): RuntimeConfig {
  return {
    queues: r.queues ?? [...NODE_DEFAULTS.queues],
    concurrency: r.concurrency ?? RUNNER_DEFAULTS.concurrency,
    prefetch: r.prefetch ?? 0,
    leaseMs: r.lease ?? RUNNER_DEFAULTS.leaseMs,
    pollIntervalMs: r.poll_interval ?? RUNNER_DEFAULTS.pollIntervalMs,
    retentionMs: r.retention ?? null,
    httpAddr: r.http_addr === undefined ? { ...DEFAULT_HTTP_ADDR } : r.http_addr,
    healthSampleIntervalMs: r.health_sample_interval ?? null,
    envAllowlist: r.env_allowlist ?? [...DEFAULT_ENV_ALLOWLIST],
    drainTimeoutMs: r.drain_timeout ?? NODE_DEFAULTS.drainTimeoutMs,
    synchronous: r.synchronous ?? "normal",
    retryBackoff: { baseMs: r.retry_backoff?.base ?? DEFAULT_BACKOFF_BASE_MS, capMs: r.retry_backoff?.cap ?? DEFAULT_BACKOFF_CAP_MS },
    jobTimeoutMs: r.job_timeout === undefined ? RUNNER_DEFAULTS.jobTimeoutMs : r.job_timeout,
    killGraceMs: r.kill_grace ?? DEFAULT_KILL_GRACE_MS,
  };
}

/** The daemon's HTTP address when the config names none. */
export const DEFAULT_HTTP_ADDR: Readonly<HttpAddress> = { hostname: "127.0.0.1", port: 9090 };

function expandHome(path: string, env: Env): string {
  return path === "~" || path.startsWith("~/") ? join(env.HOME || homedir(), path.slice(1)) : path;
}

// ---- command worker paths --------------------------------------------------------------------------------------

/**
 * Makes a command worker's relative paths absolute against `baseDir` (the config's directory, or the cwd for
 * CLI input): `script` and `dir` for every process worker, `command` for `exec` when it contains a `/`. Jobs
 * then carry absolute paths, so they run the same whichever process claims them and `jobs inspect` shows the
 * real file. Returns the paths that must exist, with the key naming each.
 */
export function resolveCommandPaths(
  kind: string,
  args: Record<string, unknown>,
  baseDir: string,
): { args: Record<string, unknown>; paths: { key: string; path: string; mustBe: "file" | "dir" }[] } {
  const out = { ...args };
  const paths: { key: string; path: string; mustBe: "file" | "dir" }[] = [];
  const fix = (key: string, mustBe: "file" | "dir") => {
    const value = out[key];
    if (typeof value !== "string" || value === "") return;
    out[key] = resolve(baseDir, value);
    paths.push({ key, path: out[key] as string, mustBe });
  };
  if (kind === "http") return { args: out, paths };
  if (kind === "shell" || kind === "python") fix("script", "file");
  if (kind === "exec" && typeof out.command === "string" && out.command.includes("/")) fix("command", "file");
  fix("dir", "dir");
  return { args: out, paths };
}

/** Why `path` is not usable as a `mustBe`, or null when it is. */
export function pathProblem(path: string, mustBe: "file" | "dir"): string | null {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return `${mustBe === "file" ? "file" : "directory"} not found: ${path}`;
  if (mustBe === "file" && !stat.isFile()) return `not a file: ${path}`;
  if (mustBe === "dir" && !stat.isDirectory()) return `not a directory: ${path}`;
  return null;
}

/**
 * The runtime deadline for a command job whose args set `timeout_seconds`: that, plus the kill grace, plus 5 s,
 * so the worker's own timeout (which terminates the process group and keeps its output) fires first and the
 * runner's default (30 min) never cuts a longer job short. Undefined when the args set none.
 */
export function commandJobTimeout(args: Record<string, unknown>, killGraceMs: number): number | undefined {
  const seconds = args.timeout_seconds;
  if (typeof seconds !== "number" || !(seconds > 0)) return undefined;
  const grace = typeof args.kill_grace_seconds === "number" ? args.kill_grace_seconds * 1000 : killGraceMs;
  return Math.ceil(seconds * 1000 + grace + 5_000);
}

// ---- issues and their lines ------------------------------------------------------------------------------------

function issueOf(issue: v.BaseIssue<unknown>, raw: unknown, text: string): ConfigIssue {
  const keys = (issue.path ?? []).map((p) => p.key as string | number);
  let message = issue.message;
  if (issue.type === "strict_object" && issue.expected === "never") {
    const parent = keys.slice(0, -1);
    const allowed = allowedKeys(CONFIG, parent, raw);
    const key = String(keys[keys.length - 1]);
    const guess = allowed ? closest(key, allowed) : undefined;
    message = `unknown key${guess ? ` (did you mean ${guess}?)` : allowed ? ` (expected one of ${allowed.join(", ")})` : ""}`;
  } else if (issue.type === "strict_object" && issue.received === "undefined") {
    const key = String(keys[keys.length - 1]);
    message = (COMMAND_KINDS as readonly string[]).includes(key)
      ? `missing: worker ${key} takes its arguments under \`${key}:\``
      : "missing (required)";
  } else if (issue.type === "variant") {
    message = issue.received === "undefined" ? `missing: ${issue.message}` : `${issue.message}, got ${issue.received}`;
  } else if (issue.kind === "schema" && issue.received === "undefined") {
    message = `missing: ${issue.message}`;
  } else if (issue.kind === "schema" && !/ got /.test(message)) {
    message = `${message}, got ${issue.received}`;
  }
  return { path: dotPath(keys), line: locate(text, keys), message };
}

/**
 * Rewrites valibot's default wording in a command worker's issue (`Invalid key: Expected never but received
 * "scrpt"`) into the config's own (`unknown key (did you mean script?)`); the workers' custom messages pass through.
 */
export function explainArgIssue(kind: CommandKind, path: readonly (string | number)[], message: string, args: unknown): string {
  if (/^Invalid key: Expected never/.test(message)) {
    const allowed = allowedKeys(ARG_SCHEMAS[kind], path.slice(0, -1), args);
    const guess = allowed ? closest(String(path[path.length - 1]), allowed) : undefined;
    return `unknown key${guess ? ` (did you mean ${guess}?)` : allowed ? ` (expected one of ${allowed.join(", ")})` : ""}`;
  }
  const m = /^Invalid (?:type|key): Expected (.+) but received (.+)$/.exec(message);
  if (m) return m[2] === "undefined" ? `missing: expected ${m[1]}` : `expected ${m[1]}, got ${m[2]}`;
  return message.replace(/^Invalid \w+: /, "");
}

const ARG_SCHEMAS: Record<CommandKind, unknown> = { exec: EXEC_ARGS, shell: SHELL_ARGS, python: PYTHON_ARGS, mage: MAGE_ARGS, http: HTTP_ARGS };

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => !seen.has(i.path + i.message) && seen.add(i.path + i.message));
}

/** The keys a strict object at `path` accepts, found by walking the schema alongside the input. */
function allowedKeys(schema: unknown, path: (string | number)[], input: unknown): string[] | undefined {
  let s = schema as any;
  let value = input as any;
  const unwrap = () => {
    while (s && (s.type === "optional" || s.pipe)) s = s.type === "optional" ? s.wrapped : s.pipe[0];
    if (s?.type === "variant") s = s.options.find((o: any) => o.entries[s.key]?.literal === value?.[s.key]) ?? s.options[0];
  };
  unwrap();
  for (const key of path) {
    if (s?.type === "array") s = s.item;
    else if (s?.entries) s = s.entries[key];
    else return undefined;
    value = value?.[key];
    unwrap();
  }
  return s?.entries ? Object.keys(s.entries) : undefined;
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** `["schedules", 2, "shell", "script"]` → `schedules[2].shell.script`. */
export function dotPath(keys: readonly (string | number)[]): string {
  return keys.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("");
}

/** `"env.FOO"` → `["env", "FOO"]`; digit segments become indexes. */
export function splitDotPath(path: string): (string | number)[] {
  return path === "" ? [] : path.split(".").map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

/**
 * The 1-based line of `keys` in YAML `text`, or of its deepest ancestor found; undefined when not even the
 * first key is. Bun's YAML parser keeps no positions, so this walks the text: a child key starts a line indented
 * deeper than its parent key (or follows it on the parent's own line: `- slug: x`, `shell: { script: x }`); a
 * list index counts the `-` items at the list's indentation. It never looks outside the parent's block, so for
 * styles it does not follow (multi-line flow collections) it reports the nearest ancestor instead of a wrong line.
 */
export function locate(text: string, keys: readonly (string | number)[]): number | undefined {
  if (text === "" || keys.length === 0) return undefined;
  const lines = text.split("\n");
  const indentOf = (line: string) => line.length - line.trimStart().length;
  const isContent = (line: string) => line.trim() !== "" && !line.trimStart().startsWith("#");
  // The current node: its row and the column of its key (or of its item's dash); the root has column -1.
  let row = -1;
  let col = -1;
  for (const key of keys) {
    let hit: { row: number; col: number } | undefined;
    if (typeof key === "number") {
      let count = -1;
      let itemCol = -1;
      for (let i = row + 1; i < lines.length && !hit; i++) {
        const line = lines[i]!;
        if (!isContent(line)) continue;
        const indent = indentOf(line);
        const dash = /^-(\s|$)/.test(line.trimStart());
        // YAML lets a block sequence sit at its parent key's own indentation (`key:\n- item`).
        if (indent < col || (indent === col && !dash) || (itemCol !== -1 && indent < itemCol)) break;
        if (!dash) continue;
        if (itemCol === -1) itemCol = indent;
        if (indent === itemCol && ++count === key) hit = { row: i, col: indent };
      }
    } else {
      const name = `["']?${key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}["']?\\s*:(\\s|$)`;
      if (row >= 0) {
        const rest = lines[row]!.slice(col + 1);
        const m = new RegExp(`(^|[\\s{,])${name}`).exec(rest);
        if (m) hit = { row, col: col + 1 + m.index + m[1]!.length };
      }
      for (let i = row + 1; i < lines.length && !hit; i++) {
        const line = lines[i]!;
        if (!isContent(line)) continue;
        const indent = indentOf(line);
        if (indent <= col) break;
        if (new RegExp(`^${name}`).test(line.trimStart()) && (col >= 0 || indent === 0)) hit = { row: i, col: indent };
      }
    }
    if (!hit) break;
    ({ row, col } = hit);
  }
  return row >= 0 ? row + 1 : undefined;
}
