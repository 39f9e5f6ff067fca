import type * as v from "valibot";
import { closest } from "../../core/closest.ts";
import { FlywheelError } from "../../core/errors.ts";
import { COMMAND_KINDS, type CommandKind } from "../../workers/index.ts";
import { dotPath, locate } from "./locate.ts";
import { COMMAND_ARG_SCHEMAS, CONFIG_SCHEMA } from "./schema.ts";

// What is wrong with a config, in the config's own words: valibot's issues become `key: what` lines with the
// key's line in the file and, for a misspelt key, the key that was probably meant.

/** One problem in a config file: the key path (`schedules[2].shell.script`), its line when found, and what was expected. */
export interface ConfigIssue {
  path: string;
  line?: number;
  /** 1-based, when known (YAML syntax errors). */
  column?: number;
  message: string;
}

/**
 * A config file that cannot be used. `message` is one line, `flywheel: <file>:<line>: <key>: <what>`, for the
 * first issue; `issues` holds them all. `code` is `config_invalid`, which the CLI maps to exit status 2.
 */
export class ConfigError extends FlywheelError {
  /** The config file, or null when the problem is not in a file (a config given as text without one). */
  readonly file: string | null;
  /** Every problem found, in schema order; `flywheel doctor` lists them all. */
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

/** `file:line: key: message` (`file:line:column:` when the column is known), leaving out what is unknown. */
export function formatIssue(file: string | null, issue: ConfigIssue): string {
  const at = issue.line === undefined ? "" : `:${issue.line}${issue.column === undefined ? "" : `:${issue.column}`}`;
  const where = file === null ? "" : `${file}${at}: `;
  return `${where}${issue.path ? `${issue.path}: ` : ""}${issue.message}`;
}

/**
 * A valibot issue from {@link CONFIG_SCHEMA} as a {@link ConfigIssue}: valibot's wording replaced by the
 * config's (`unknown key (did you mean lease?)`, `missing: …`, `expected …, got …`), located in `text`.
 * `raw` is the parsed YAML, needed to tell which worker's keys a schedule accepts.
 */
export function configIssueOf(issue: v.BaseIssue<unknown>, raw: unknown, text: string): ConfigIssue {
  const keys = (issue.path ?? []).map((p) => p.key as string | number);
  let message = issue.message;
  if (issue.type === "strict_object" && issue.expected === "never") {
    message = unknownKey(CONFIG_SCHEMA, keys, raw);
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
  if (/^Invalid key: Expected never/.test(message)) return unknownKey(COMMAND_ARG_SCHEMAS[kind], path, args);
  const m = /^Invalid (?:type|key): Expected (.+) but received (.+)$/.exec(message);
  if (m) return m[2] === "undefined" ? `missing: expected ${m[1]}` : `expected ${m[1]}, got ${m[2]}`;
  return message.replace(/^Invalid \w+: /, "");
}

/** The same issues without repeats (a variant reports some problems once per option). */
export function dedupeIssues(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => !seen.has(i.path + i.message) && seen.add(i.path + i.message));
}

/** `unknown key`, with the closest accepted key as a guess, else the list of accepted keys when it is known. */
function unknownKey(schema: unknown, path: readonly (string | number)[], input: unknown): string {
  const allowed = allowedKeys(schema, path.slice(0, -1), input);
  const guess = allowed ? closest(String(path[path.length - 1]), allowed) : undefined;
  return `unknown key${guess ? ` (did you mean ${guess}?)` : allowed ? ` (expected one of ${allowed.join(", ")})` : ""}`;
}

/** The keys a strict object at `path` accepts, found by walking the schema alongside the input. */
function allowedKeys(schema: unknown, path: readonly (string | number)[], input: unknown): string[] | undefined {
  let s = schema as any;
  let value = input as any;
  const unwrap = () => {
    while (s && (s.type === "optional" || s.type === "lazy" || s.pipe)) {
      s = s.type === "optional" ? s.wrapped : s.type === "lazy" ? s.getter(value) : s.pipe[0];
    }
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
