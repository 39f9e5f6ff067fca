import { isatty } from "node:tty";
import { formatDuration } from "../core/duration.ts";
import type { PeriodicRecord } from "../core/types.ts";
import { parseSource } from "../periodic/source.ts";

// Everything the CLI prints for people goes through here: tables that fit the terminal, times, clipped text.
// The stable `--json` shapes are the API's, in observe/json.ts.

/** Columns whose cells are ids: cut last, and never below {@link ID_MIN} characters (a prefix that long is accepted back). */
const ID_HEADERS = ["id", "job", "node"];
/** The fewest characters of an id a table shows; `resolveJobId` takes a prefix this long. */
export const ID_MIN = 8;
/** Columns of names people type back (`schedule trigger <slug>`): never cut. */
const NAME_HEADERS = ["slug"];
/** Other columns are cut (widest first) no narrower than this, or their own width when smaller. */
const TEXT_MIN = 12;

/**
 * The width tables must fit: `$COLUMNS` when set, else the terminal's when stdout is one, else undefined:
 * piped output is never cut, so scripts and `grep` see whole values.
 */
export function outputWidth(env: Record<string, string | undefined> = process.env): number | undefined {
  const columns = Number(env.COLUMNS);
  if (env.COLUMNS && Number.isInteger(columns) && columns > 0) return columns;
  // isatty first: `process.stdout` builds a Node stream (~6 ms), worth it only for a terminal.
  return isatty(1) ? process.stdout.columns || undefined : undefined;
}

/**
 * Left-aligned columns separated by two spaces, headers upper-cased; `(none)` for no rows. When the table is
 * wider than `width` (default {@link outputWidth}), the widest non-id column loses characters first, cut cells
 * ending in `…`; id columns (`ids`, default id/job/node) are cut last, keeping at least {@link ID_MIN} characters and
 * enough to tell the rows apart; a slug is never cut. What cannot fit past those limits overflows.
 */
export function table(headers: string[], rows: string[][], options: { width?: number; ids?: string[] } = {}): string {
  if (rows.length === 0) return "(none)";
  const all = [headers.map((h) => h.toUpperCase()), ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => width(r[i] ?? ""))));
  const ids = options.ids ?? ID_HEADERS;
  const max = options.width ?? outputWidth();
  if (max !== undefined) {
    const isId = headers.map((h) => ids.includes(h.toLowerCase()));
    const floor = headers.map((h, i) =>
      NAME_HEADERS.includes(h.toLowerCase()) ? widths[i]! : Math.min(widths[i]!, isId[i] ? uniquePrefix(rows.map((r) => r[i] ?? "")) + 1 : TEXT_MIN),
    );
    fit(widths, floor, max, isId);
  }
  const cut = (cell: string, w: number) => (width(cell) <= w ? cell : `${[...cell].slice(0, w - 1).join("")}…`);
  return all
    .map((r) =>
      r
        .map((raw, i) => {
          const cell = cut(raw, widths[i]!);
          return i === r.length - 1 ? cell : cell + " ".repeat(widths[i]! - width(cell));
        })
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/**
 * The shortest prefix length, at least {@link ID_MIN}, that still tells `values` apart: ids of jobs created in the
 * same minute share their first 8 characters (UUIDv7 starts with the time), so a cut id must keep more of them.
 */
function uniquePrefix(values: string[]): number {
  const distinct = new Set(values).size;
  const longest = Math.max(...values.map((v) => v.length));
  for (let n = ID_MIN; n < longest; n++) if (new Set(values.map((v) => v.slice(0, n))).size === distinct) return n;
  return longest;
}

/** Narrows `widths` in place until they fit `max`: the widest text column first, then ids, never below `floor`. */
function fit(widths: number[], floor: number[], max: number, isId: boolean[]): void {
  const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
  while (total() > max) {
    const shrinkable = (id: boolean) => widths.map((w, i) => (isId[i] === id && w > floor[i]! ? i : -1)).filter((i) => i >= 0);
    const pool = shrinkable(false).length > 0 ? shrinkable(false) : shrinkable(true);
    if (pool.length === 0) return;
    const widest = pool.reduce((a, b) => (widths[b]! > widths[a]! ? b : a));
    widths[widest]!--;
  }
}

/** `key  value` lines with the keys padded to one width. */
export function fields(pairs: [string, string][]): string {
  const w = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n");
}

function width(text: string): number {
  return [...text].length;
}

/** `2026-03-08 06:00:00Z`: UTC, second precision, sorts as text. */
export function formatTime(date: Date | null): string {
  if (!date) return "-";
  return date.toISOString().replace("T", " ").replace(/\.\d{3}Z$/, "Z");
}

/** `2026-03-08 07:00:00 CET` in the IANA `timezone`: how a schedule's own wall clock reads. */
export function formatInZone(date: Date, timezone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      timeZoneName: "short",
    })
      .formatToParts(date)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${zoneName(date, timezone, parts.timeZoneName ?? timezone)}`;
}

// en-US knows EST/PST but calls Europe's zones GMT+1; en-GB knows CET/BST. Take a lettered name where either has one.
function zoneName(date: Date, timezone: string, us: string): string {
  if (!us.startsWith("GMT")) return us;
  const gb = new Intl.DateTimeFormat("en-GB", { timeZone: timezone, timeZoneName: "short" }).formatToParts(date).find((p) => p.type === "timeZoneName")?.value;
  return gb && /^[A-Z]+$/.test(gb) ? gb : us;
}

/** `in 5m`, `3s ago`, `now`: coarse, for tables. */
export function formatRelative(date: Date | null, now: Date): string {
  if (!date) return "-";
  const ms = date.getTime() - now.getTime();
  if (Math.abs(ms) < 1000) return "now";
  const text = coarse(Math.abs(ms));
  return ms > 0 ? `in ${text}` : `${text} ago`;
}

/** The largest one or two units of a span: `3d4h`, `5m12s`, `800ms`. */
export function coarse(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const full = formatDuration(Math.round(ms / 1000) * 1000);
  return full.match(/\d+[a-z]+/g)!.slice(0, 2).join("");
}

/** A periodic's schedule as written: the cron expression, or `every 5m`. */
export function scheduleText(p: Pick<PeriodicRecord, "cron" | "intervalSeconds">): string {
  return p.cron ?? `every ${formatDuration((p.intervalSeconds ?? 0) * 1000)}`;
}

/** Text cut to `max` characters on one line, for table cells. */
export function clip(text: string, max = 60): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** A periodic's source for people: `cli`, `api`, `config`, or `config (<instance>)` when its config is known. */
export function sourceText(source: string): string {
  const { origin, instance } = parseSource(source);
  return instance === null ? origin : `${origin} (${instance})`;
}

/** Prints `value` as indented JSON on stdout: the `--json` contract. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}
