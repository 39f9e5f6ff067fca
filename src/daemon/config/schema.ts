import * as v from "valibot";
import { ALERT_EVENTS, WEBHOOK_FORMATS } from "../../alerts/defaults.ts";
import { isHttpUrl } from "../../alerts/workers.ts";
import { HTTP_API_DEFAULTS, HTTP_DEFAULTS } from "../../core/defaults.ts";
import { parseDuration } from "../../core/duration.ts";
import { LOG_FORMATS, LOG_LEVELS } from "../../core/logger.ts";
import { assertPattern } from "../../messaging/topics.ts";
import { assertFiresAfter, assertTimezone, parseCron } from "../../periodic/cron.ts";
import { COMMAND_KINDS, type CommandKind, EXEC_ARGS, HTTP_ARGS, MAGE_ARGS, PYTHON_ARGS, SHELL_ARGS } from "../../workers/index.ts";
import type { HttpAddress } from "./types.ts";

// The valibot schema of `flywheel.yaml`. Every message here is the config's own wording ("expected …"); issues.ts
// adds the key path, the line and did-you-mean. Checks that need more than one key (duplicate slugs, worker args,
// paths on disk) live in resolve.ts.

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

const HTTP_ADDR_HINT = `expected host:port (e.g. "${HTTP_DEFAULTS.hostname}:${HTTP_DEFAULTS.port}"; port 0 picks one) or off`;

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
  instance: v.optional(v.pipe(nonEmpty, v.regex(/^[^\0-\x1f\x7f]+$/, "expected a name without control characters"))),
});

/** `http:`: the control plane on the runtime's HTTP address (SPEC §19). */
const HTTP = v.strictObject({
  api: v.optional(v.boolean("expected true or false")),
  dashboard: v.optional(v.boolean("expected true or false")),
  api_token: v.optional(
    v.pipe(
      v.string("expected a string"),
      v.minLength(HTTP_API_DEFAULTS.minTokenLength, `expected at least ${HTTP_API_DEFAULTS.minTokenLength} characters (e.g. \`openssl rand -hex 24\`)`),
      v.regex(/^[\x21-\x7e]+$/, "expected printable characters without spaces"),
    ),
  ),
});

const LOG = v.strictObject({
  level: v.optional(oneOf(LOG_LEVELS)),
  format: v.optional(oneOf(LOG_FORMATS)),
  job_output: v.optional(v.boolean("expected true or false")),
});

const HTTP_URL_HINT = "expected an http(s) URL";

/** An absolute http or https URL: what webhooks and pings are sent to. */
const httpUrl = v.pipe(v.string(HTTP_URL_HINT), v.check(isHttpUrl, HTTP_URL_HINT));

/** A value given either alone or as a list: `on: failure` reads as `on: [failure]`. */
const oneOrList = <T extends v.GenericSchema>(item: T, hint: string) =>
  v.lazy((input) => (Array.isArray(input) ? v.pipe(v.array(item, hint), v.minLength(1, hint)) : v.pipe(item, v.transform((x) => [x]))));

const EVENTS_HINT = `expected one of ${ALERT_EVENTS.join(", ")}, or a list of them`;

/**
 * One alert (SPEC §20): the events it fires on, and exactly one of a webhook (with its body format and extra
 * headers) or a command (a program and its arguments, run without a shell).
 */
const ALERT = v.pipe(
  v.strictObject(
    {
      on: v.optional(oneOrList(oneOf(ALERT_EVENTS), EVENTS_HINT)),
      webhook: v.optional(httpUrl),
      command: v.optional(
        v.pipe(
          v.array(nonEmpty, "expected a list: the program and its arguments, e.g. [/usr/local/bin/page-oncall, --team, ops]"),
          v.minLength(1, "expected at least the program"),
        ),
      ),
      format: v.optional(oneOf(WEBHOOK_FORMATS)),
      headers: v.optional(
        v.record(v.pipe(v.string(), v.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "expected an HTTP header name")), v.string("expected a string"), "expected a mapping of header names to values"),
      ),
      timeout: v.optional(duration),
    },
    "expected an alert: { on: [...], webhook: URL } or { on: [...], command: [...] }",
  ),
  v.check((a) => (a.webhook === undefined) !== (a.command === undefined), "give exactly one of webhook and command"),
  v.forward(v.check((a) => a.command === undefined || a.format === undefined, "format applies to webhook alerts only"), ["format"]),
  v.forward(v.check((a) => a.command === undefined || a.headers === undefined, "headers applies to webhook alerts only"), ["headers"]),
);

/** `alerts:` (top level and per schedule): one alert, or a list of them; `[]` for none. */
const ALERTS = v.lazy((input) => (Array.isArray(input) ? v.array(ALERT) : ALERT));

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
          // A cron that cannot fire again would sit in the database doing nothing; refuse it before any is opened.
          assertFiresAfter({ cron: dataset.value, timezone: "UTC" }, new Date());
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
  /** Delays each fire's job by a stable per-slug offset below this (SPEC §20). */
  jitter: v.optional(duration),
  active: v.optional(v.boolean("expected true or false")),
  /** Replaces the top-level `alerts:` for this schedule. */
  alerts: v.optional(ALERTS),
  /** A healthchecks.io-style URL: `/start`, itself and `/fail` are called. */
  ping: v.optional(httpUrl),
  /** How late a fire may start before it counts as missed. */
  grace: v.optional(duration),
};

// Worker args are checked by the worker's own schema in resolve.ts, so their issues can be worded per worker.
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

/** A topic pattern by AMQP's rules, worded as the library words it (without its `flywheel:` prefix). */
const topicPattern = v.pipe(
  nonEmpty,
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    try {
      assertPattern(dataset.value);
    } catch (error) {
      addIssue({ message: (error as Error).message.replace(/^flywheel: /, "") });
    }
  }),
);

/**
 * One entry of `bindings:` (SPEC §18): a published topic matching `pattern` runs a command worker, as a schedule's
 * fire does. One strict object per worker type, as for schedules.
 */
const BINDING = v.variant(
  "worker",
  COMMAND_KINDS.map((kind) => v.strictObject({ pattern: topicPattern, queue: v.optional(nonEmpty), worker: v.literal(kind), [kind]: WORKER_ARGS })) as unknown as [
    v.StrictObjectSchema<any, any>,
    ...v.StrictObjectSchema<any, any>[],
  ],
  `expected one of ${COMMAND_KINDS.join(", ")}`,
);

/** One entry of `queues:`, by queue name: whether this config keeps it paused. */
const QUEUE = v.strictObject({ paused: v.optional(v.boolean("expected true or false")) }, "expected a mapping such as { paused: true }");

/** The whole of `flywheel.yaml`: strict objects throughout, so a misspelt key is an error rather than ignored. */
export const CONFIG_SCHEMA = v.strictObject(
  {
    db: v.optional(DB),
    runtime: v.optional(RUNTIME),
    http: v.optional(HTTP),
    log: v.optional(LOG),
    schedules: v.optional(v.array(SCHEDULE, "expected a list of schedules")),
    alerts: v.optional(ALERTS),
    bindings: v.optional(v.array(BINDING, "expected a list of bindings")),
    queues: v.optional(v.record(nonEmpty, QUEUE, "expected a mapping of queue names to settings")),
  },
  "expected a mapping with db, runtime, http, log, schedules, alerts, bindings and queues",
);

/** A config as {@link CONFIG_SCHEMA} outputs it: durations in milliseconds, `off` as null, nothing defaulted yet. */
export type RawConfig = v.InferOutput<typeof CONFIG_SCHEMA>;

/** Each command worker's args schema, by kind, for wording the issues of a schedule's worker key. */
export const COMMAND_ARG_SCHEMAS: Readonly<Record<CommandKind, unknown>> = {
  exec: EXEC_ARGS,
  shell: SHELL_ARGS,
  python: PYTHON_ARGS,
  mage: MAGE_ARGS,
  http: HTTP_ARGS,
};

/** `host:port`, `[v6]:port` or `:port` (loopback); null when malformed. */
export function parseHttpAddr(text: string): HttpAddress | null {
  const m = /^(?:\[([^\]]+)\]|([^:\s]*)):(\d{1,5})$/.exec(text.trim());
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65_535) return null;
  return { hostname: m[1] ?? (m[2] || HTTP_DEFAULTS.hostname), port };
}
