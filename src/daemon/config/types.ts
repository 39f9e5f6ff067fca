import type { AlertRule } from "../../alerts/types.ts";
import type { LogFormat, LogLevel } from "../../core/logger.ts";
import type { CatchUp, Overlap } from "../../core/types.ts";
import type { CommandKind } from "../../workers/index.ts";

// The shapes a loaded `flywheel.yaml` resolves to. Every module of the config loader speaks these; nothing here
// has behaviour.

/** The environment the loader reads (`$FLYWHEEL_CONFIG`, `$HOME`, the XDG variables); `process.env` by default. */
export type ConfigEnv = Record<string, string | undefined>;

/** Where flywheel listens for HTTP (`/healthz`, `/readyz`, `/metrics`). */
export interface HttpAddress {
  hostname: string;
  /** `0` picks a free port. */
  port: number;
}

/** `http:` with defaults applied: the API and dashboard on `runtime.http_addr`. */
export interface HttpConfig {
  api: boolean;
  dashboard: boolean;
  /** `http.api_token`, else `$FLYWHEEL_API_TOKEN`; null for none (the API is then read-only and loopback only). */
  apiToken: string | null;
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
  /** Hard-delete finished jobs older than this; 30 days by default (`DAEMON_DEFAULTS`), `null` when `off`. */
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
  /**
   * Which daemon's config this is, on a database several daemons share: its schedules are saved with source
   * `config:<instance>`, and reconcile deactivates only those. Default `<host name>:<config file path>`, or
   * `<host name>:defaults` without a config file.
   */
  instance: string;
}

/** `log:` with defaults and the environment's overrides (`FLYWHEEL_LOG_FORMAT`, `FLYWHEEL_LOG_LEVEL`) applied. */
export interface LogConfig {
  level: LogLevel;
  format: LogFormat;
  /** `log.job_output`: forward each line command jobs write to stdout/stderr to the daemon's log; off by default. */
  jobOutput: boolean;
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
  /** Default `latest` (`CONFIG_SCHEDULE_DEFAULTS`): a daemon that was down runs the latest missed fire once, as cron-with-anacron would. */
  catchUp: CatchUp;
  backfill?: number;
  /** Default 1 (`CONFIG_SCHEDULE_DEFAULTS`): a failed run waits for the next fire, as under cron. */
  maxAttempts: number;
  priority?: number;
  /** The runtime's deadline for each fire's job; derived from the worker's `timeout_seconds` when not given. */
  timeoutMs?: number;
  /** `jitter:` in milliseconds: each fire's job waits a stable per-slug offset below it; undefined for none. */
  jitterMs?: number;
  active: boolean;
  /** This schedule's alerts: its own `alerts:`, else the top-level ones (SPEC §20). */
  alerts: AlertRule[];
  /** `ping:`, a healthchecks.io-style URL; null for none. */
  ping: string | null;
  /** `grace:` in milliseconds: how late a fire may start before it counts as missed. */
  graceMs: number;
}

/** One entry of `bindings:` (SPEC §18), validated: a topic pattern whose published topics run a command worker. */
export interface BindingConfig {
  pattern: string;
  /** The command worker kind (`worker:`). */
  kind: CommandKind;
  /** The worker's args, checked and with their paths absolute: every job the binding makes gets these. */
  args: Record<string, unknown>;
  queue?: string;
}

/** One entry of `queues:`: a queue this config keeps paused (or explicitly not). */
export interface QueueConfig {
  name: string;
  paused: boolean;
}

/** How the config file was found: `--config`, `$FLYWHEEL_CONFIG`, `./flywheel.yaml`, the XDG path, or `defaults` (none). */
export type ConfigSource = "flag" | "env" | "cwd" | "xdg" | "defaults";

/** A loaded, validated config. Without a config file every field holds its default. */
export interface FlywheelConfig {
  /** Absolute path of the file read, or `null` when none was found. */
  file: string | null;
  /** How the file was found. */
  source: ConfigSource;
  /** Relative paths (sqlite, scripts, `dir`) resolve against this: the config file's directory, else the cwd. */
  baseDir: string;
  db: DatabaseConfig;
  runtime: RuntimeConfig;
  http: HttpConfig;
  log: LogConfig;
  schedules: ScheduleConfig[];
  /** The top-level `alerts:`: every schedule's that gives none of its own, and those added by the CLI or library. */
  alerts: AlertRule[];
  /** `bindings:`, reconciled at start and on reload like schedules. */
  bindings: BindingConfig[];
  /** `queues:`, by name. */
  queues: QueueConfig[];
}
