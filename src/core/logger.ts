import { LOG_DEFAULTS } from "./defaults.ts";
/** Structured fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/** The log levels, in increasing severity. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** Log level, in increasing severity. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The line formats: `text` (`time LEVEL message key=value…`) or `json` (one object per line). */
export const LOG_FORMATS = ["text", "json"] as const;

/** One of {@link LOG_FORMATS}. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The logger flywheel writes to and hands to workers (`job.logger`). Any object with these methods fits. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

/** Options for {@link createLogger}. `{}` means: level `info`, text lines on stderr. */
export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go; defaults to stderr. */
  write?: (line: string) => void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

// Characters that would end or garble a text line: C0/C1 controls (tab aside), DEL, and the Unicode line and
// paragraph separators some viewers break on.
const LINE_BREAKING = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/g;
// A field value is quoted when a logfmt reader would otherwise split or misread it.
const NEEDS_QUOTES = /[\s"\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * A small structured logger: one line per event, `text` (`time level message key=value…`) or `json`. In
 * `text`, control characters in the message and in values are escaped (`\n`, `\u001b`), so whatever a job or
 * an error message holds, every event stays one line. Repeated lines are never collapsed: job output can pass
 * through it.
 */
export function createLogger(options: LoggerOptions = {}, bound: LogFields = {}): Logger {
  const min = RANK[options.level ?? LOG_DEFAULTS.level];
  const format = options.format ?? LOG_DEFAULTS.format;
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const emit = (level: LogLevel, message: string, fields?: LogFields) => {
    if (RANK[level] < min) return;
    const all = fields ? { ...bound, ...fields } : bound;
    const time = new Date().toISOString();
    if (format === "json") {
      write(JSON.stringify({ time, level, msg: message, ...all }));
      return;
    }
    let line = `${time} ${level.toUpperCase().padEnd(5)} ${escapeLineBreaks(message)}`;
    for (const [key, value] of Object.entries(all)) {
      if (value === undefined) continue;
      const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
      line += ` ${key}=${NEEDS_QUOTES.test(text) ? escapeLineBreaks(JSON.stringify(text)) : text}`;
    }
    write(line);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(options, { ...bound, ...fields }),
  };
}

/**
 * `text` with every line-breaking character written as an escape (`\n`, `\r`, else `\uXXXX`). Applied to
 * quoted values too: JSON.stringify leaves DEL, the C1 controls and U+2028/U+2029 as they are.
 */
function escapeLineBreaks(text: string): string {
  return text.replace(LINE_BREAKING, (c) => (c === "\n" ? "\\n" : c === "\r" ? "\\r" : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`));
}

/** A logger that drops everything; the default for tests. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};
