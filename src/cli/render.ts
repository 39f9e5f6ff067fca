import { isatty } from "node:tty";
import { formatDuration } from "../core/duration.ts";
import type { BindingRecord, FailureRecord, HistoryRecord, JobRecord, NodeRecord, PeriodicRecord, QueueHealth, QueueRecord, RunRecord, StepRecord } from "../core/types.ts";
import { parseSource } from "../daemon/periodic-source.ts";

// Everything the CLI prints goes through here: human tables and times, and the stable `--json` shapes. JSON keys
// are snake_case, like the database columns and the audit trail, and dates are ISO-8601 UTC strings; scripts
// depend on these names, so add fields rather than rename them.

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

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** A job as `--json` prints it. */
export function jobJson(j: JobRecord) {
  return {
    id: j.id,
    kind: j.kind,
    queue: j.queue,
    state: j.state,
    args: j.args,
    priority: j.priority,
    attempt: j.attempt,
    max_attempts: j.maxAttempts,
    timeout_ms: j.timeoutMs,
    scheduled_at: iso(j.scheduledAt),
    leased_until: iso(j.leasedUntil),
    unique_key: j.uniqueKey,
    unique_active_key: j.uniqueActiveKey,
    parent_job_id: j.parentJobId,
    root_job_id: j.rootJobId,
    wait_reason: j.waitReason,
    wake_at: iso(j.wakeAt),
    executor_class: j.executorClass,
    tags: j.tags,
    metadata: j.metadata,
    created_at: iso(j.createdAt),
    updated_at: iso(j.updatedAt),
    finalized_at: iso(j.finalizedAt),
  };
}

/** A workflow step as `--json` prints it. */
export function stepJson(s: StepRecord) {
  return {
    key: s.key,
    status: s.status,
    output: s.output,
    error: s.error,
    attempts: s.attempts,
    run_id: s.runId,
    wake_at: iso(s.wakeAt),
    started_at: iso(s.startedAt),
    finished_at: iso(s.finishedAt),
  };
}

/** A run (attempt) as `--json` prints it; `output` is what the worker stored (exit code, stdout, stderr…). */
export function runJson(r: RunRecord) {
  return {
    id: r.id,
    job_id: r.jobId,
    attempt: r.attempt,
    outcome: r.outcome,
    error_class: r.errorClass,
    error_message: r.errorMessage,
    output: r.output,
    executor_id: r.executorId,
    executor_class: r.executorClass,
    started_at: iso(r.startedAt),
    finished_at: iso(r.finishedAt),
    duration_ms: r.durationMs,
    cost_micros: r.costMicros,
    enqueued_children: r.enqueuedChildren,
  };
}

/** A periodic as `--json` prints it. */
export function periodicJson(p: PeriodicRecord) {
  return {
    slug: p.slug,
    kind: p.kind,
    queue: p.queue,
    args: p.args,
    cron: p.cron,
    interval_seconds: p.intervalSeconds,
    timezone: p.timezone,
    overlap: p.overlap,
    catch_up: p.catchUp,
    backfill: p.backfill,
    max_attempts: p.maxAttempts,
    priority: p.priority,
    timeout_ms: p.timeoutMs,
    // `source` keeps its meaning (api, config, cli); which config a schedule came from is a field of its own.
    ...sourceJson(p.source),
    active: p.isActive,
    next_run_at: iso(p.nextRunAt),
    last_enqueued_at: iso(p.lastEnqueuedAt),
    skipped_count: p.skippedCount,
    last_skipped_at: iso(p.lastSkippedAt),
    last_skip_reason: p.lastSkipReason,
    // What its runs came to (SPEC §20), the fields of `status` and `schedule ls`: the last run that ended
    // (`last_outcome` is its job's final state: succeeded, discarded or cancelled), and the failure streak.
    last_job_id: p.lastJobId,
    last_outcome: p.lastOutcome,
    last_exit_code: p.lastExitCode,
    last_duration_ms: p.lastDurationMs,
    last_finished_at: iso(p.lastFinishedAt),
    last_success_at: iso(p.lastSuccessAt),
    consecutive_failures: p.consecutiveFailures,
    paused_by: p.pausedBy,
  };
}

/** A periodic's source as `--json` prints it: `source` (api, config, cli) and `config_instance` (null unless known). */
function sourceJson(source: string): { source: string; config_instance: string | null } {
  const { origin, instance } = parseSource(source);
  return { source: origin, config_instance: instance };
}

/** A periodic's source for people: `cli`, `api`, `config`, or `config (<instance>)` when its config is known. */
export function sourceText(source: string): string {
  const { origin, instance } = parseSource(source);
  return instance === null ? origin : `${origin} (${instance})`;
}

/** Queue health as `--json` prints it. */
export function healthJson(h: QueueHealth) {
  return {
    counts: h.counts,
    ready: h.ready,
    inflight: h.inflight,
    scheduled_ahead: h.scheduledAhead,
    lag_seconds: h.oldestReadyAgeSeconds,
    sampled_at: h.sampledAt.toISOString(),
  };
}

/** A failure as `--json` prints it. */
export function failureJson(f: FailureRecord) {
  return {
    job_id: f.jobId,
    kind: f.kind,
    queue: f.queue,
    attempt: f.attempt,
    finalized_at: iso(f.finalizedAt),
    error_class: f.errorClass,
    error_message: f.errorMessage,
  };
}

/** Prints `value` as indented JSON on stdout: the `--json` contract. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/** A run's exit code, stdout and stderr when its output is a command worker's, else null. */
export function commandOutputOf(output: unknown): { exitCode: number | null; signal: string | null; stdout: string; stderr: string } | null {
  if (typeof output !== "object" || output === null || !("stdout" in output)) return null;
  const o = output as Record<string, unknown>;
  return {
    exitCode: typeof o.exit_code === "number" ? o.exit_code : null,
    signal: typeof o.signal === "string" ? o.signal : null,
    stdout: typeof o.stdout === "string" ? o.stdout : "",
    stderr: typeof o.stderr === "string" ? o.stderr : "",
  };
}

/** A node of the registry as `--json` prints it. */
export function nodeJson(n: NodeRecord) {
  return {
    id: n.id,
    executor_id: n.executorId,
    host: n.host,
    pid: n.pid,
    version: n.version,
    queues: n.queues,
    kinds: n.kinds,
    heartbeat_ms: n.heartbeatMs,
    started_at: iso(n.startedAt),
    heartbeat_at: iso(n.heartbeatAt),
  };
}

/** A queue as `--json` prints it. */
export function queueJson(q: QueueRecord) {
  return {
    name: q.name,
    paused: q.paused,
    paused_at: iso(q.pausedAt),
    paused_by: q.pausedBy,
    counts: q.counts,
    lag_seconds: q.oldestReadyAgeSeconds,
  };
}

/** A job history entry as `--json` prints it. */
export function historyJson(h: HistoryRecord) {
  return { at: iso(h.at), action: h.action, actor: h.actor, detail: h.detail };
}

/** A topic binding as `--json` prints it. */
export function bindingJson(b: BindingRecord) {
  return { pattern: b.pattern, kind: b.kind, queue: b.queue, args: b.args, source: b.source, created_at: iso(b.createdAt), updated_at: iso(b.updatedAt) };
}
