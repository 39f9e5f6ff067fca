import type { Database } from "bun:sqlite";
import { newId } from "../../core/id.ts";
import { OVERLAP_SKIP_REASON } from "../../core/skip-reason.ts";
import type { PeriodicRecord } from "../../core/types.ts";
import type { Row } from "../decode.ts";
import type { InsertOutcome, PeriodicFireParams, PeriodicRunParams, PeriodicSaveRow } from "../types.ts";
import { decode, placeholders, toDate } from "./codec.ts";
import { insertJobs } from "./insert.ts";

/** The periodic with this slug, or null. */
export function getPeriodic(db: Database, p: { slug: string }): PeriodicRecord | null {
  const row = db.query("SELECT * FROM job_periodics WHERE slug = ?").get(p.slug) as Row | null;
  return row ? decode.periodic(row) : null;
}

/** Every periodic, by slug. */
export function listPeriodics(db: Database): PeriodicRecord[] {
  return (db.query("SELECT * FROM job_periodics ORDER BY slug").all() as Row[]).map(decode.periodic);
}

/** Inserts or replaces the periodic with this slug, keeping its id, created_at and skip counters. */
export function savePeriodic(db: Database, p: PeriodicSaveRow): PeriodicRecord {
  const row = db
    .query(
      `INSERT INTO job_periodics (id, slug, kind, queue, args_template, cron_expr, interval_seconds, timezone, overlap, catch_up,
         backfill, max_attempts, priority, timeout_ms, source, next_run_at, is_active, created_at, updated_at, jitter_ms)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?18, ?19)
       ON CONFLICT (slug) DO UPDATE SET kind = excluded.kind, queue = excluded.queue, args_template = excluded.args_template,
         cron_expr = excluded.cron_expr, interval_seconds = excluded.interval_seconds, timezone = excluded.timezone,
         overlap = excluded.overlap, catch_up = excluded.catch_up, backfill = excluded.backfill,
         max_attempts = excluded.max_attempts, priority = excluded.priority, timeout_ms = excluded.timeout_ms,
         jitter_ms = excluded.jitter_ms, source = excluded.source, next_run_at = excluded.next_run_at, is_active = excluded.is_active,
         updated_at = excluded.updated_at
       RETURNING *`,
    )
    .get(
      newId(),
      p.slug,
      p.kind,
      p.queue,
      JSON.stringify(p.args ?? {}),
      p.cron,
      p.intervalSeconds,
      p.timezone,
      p.overlap,
      p.catchUp,
      p.backfill,
      p.maxAttempts,
      p.priority,
      p.timeoutMs,
      p.source,
      p.nextRunAt.getTime(),
      p.isActive ? 1 : 0,
      p.now.getTime(),
      p.jitterMs,
    ) as Row;
  return decode.periodic(row);
}

/** Active periodics due at `now`, earliest first (a walk of `job_periodics_due`). */
export function listDuePeriodics(db: Database, p: { now: Date; limit: number }): PeriodicRecord[] {
  const rows = db
    .query("SELECT * FROM job_periodics WHERE is_active = 1 AND next_run_at <= ? ORDER BY next_run_at LIMIT ?")
    .all(p.now.getTime(), p.limit) as Row[];
  return rows.map(decode.periodic);
}

/**
 * Fires a periodic inside the caller's `BEGIN IMMEDIATE` transaction. The compare-and-set on `next_run_at`
 * lets one of several schedulers win a fire; the loser changes nothing. Overlap skips are the fire's
 * `unique_active_key` collisions, counted with the catch-up skips.
 */
export function firePeriodic(db: Database, p: PeriodicFireParams): { fired: boolean; inserted: InsertOutcome[] } {
  const now = p.now.getTime();
  const won = db
    .query("UPDATE job_periodics SET next_run_at = ?, updated_at = ? WHERE id = ? AND next_run_at = ? RETURNING id")
    .get(p.nextRunAt.getTime(), now, p.id, p.expectedNextRunAt.getTime());
  if (!won) return { fired: false, inserted: [] };
  const inserted = p.jobs.length > 0 ? insertJobs(db, p.jobs) : [];
  const overlapped = inserted.filter((o) => !o.inserted && o.key === "unique_active_key").length;
  const skipped = p.skipped + overlapped;
  const reason = overlapped > 0 ? OVERLAP_SKIP_REASON : p.skipReason;
  const enqueued = inserted.some((o) => o.inserted);
  db.query(
    `UPDATE job_periodics SET skipped_count = skipped_count + ?1,
       last_skipped_at = CASE WHEN ?1 > 0 THEN ?2 ELSE last_skipped_at END,
       last_skip_reason = CASE WHEN ?1 > 0 THEN ?3 ELSE last_skip_reason END,
       last_enqueued_at = CASE WHEN ?4 THEN ?2 ELSE last_enqueued_at END,
       last_error = NULL, last_error_at = NULL
     WHERE id = ?5`,
  ).run(skipped, now, reason, enqueued ? 1 : 0, p.id);
  return { fired: true, inserted };
}

/** Records why a periodic could not fire; false when it no longer exists. */
export function recordPeriodicError(db: Database, p: { id: string; error: string; now: Date }): boolean {
  return db.query("UPDATE job_periodics SET last_error = ?, last_error_at = ? WHERE id = ?").run(p.error, p.now.getTime(), p.id).changes > 0;
}

/** Sets a periodic's `is_active` (and who paused it); false when no periodic has the slug. */
export function setPeriodicActive(db: Database, p: { slug: string; active: boolean; now: Date; pausedBy?: string }): boolean {
  return (
    db
      .query("UPDATE job_periodics SET is_active = ?, paused_by = ?, updated_at = ? WHERE slug = ?")
      .run(p.active ? 1 : 0, p.active ? null : (p.pausedBy ?? null), p.now.getTime(), p.slug).changes > 0
  );
}

/** The earliest `next_run_at` of the active periodics, read from `job_periodics_due`; null when none is active. */
export function nextPeriodicRunAt(db: Database): Date | null {
  const row = db.query("SELECT min(next_run_at) AS next FROM job_periodics WHERE is_active = 1").get() as Row | null;
  return toDate(row?.next);
}

/** Records how a run of a periodic ended; the failure streak before and after, or null when it is gone. */
export function recordPeriodicRun(db: Database, p: PeriodicRunParams): { failuresBefore: number; failuresAfter: number } | null {
  const before = db.query("SELECT consecutive_failures AS n FROM job_periodics WHERE slug = ?").get(p.slug) as Row | null;
  if (!before) return null;
  const after = p.succeeded ? 0 : (before.n as number) + 1;
  const at = p.finishedAt.getTime();
  db.query(
    `UPDATE job_periodics SET last_job_id = ?1, last_outcome = ?2, last_exit_code = ?3, last_duration_ms = ?4, last_finished_at = ?5,
       last_success_at = CASE WHEN ?6 THEN ?5 ELSE last_success_at END, consecutive_failures = ?7 WHERE slug = ?8`,
  ).run(p.jobId, p.outcome, p.exitCode, p.durationMs, at, p.succeeded ? 1 : 0, after, p.slug);
  return { failuresBefore: before.n as number, failuresAfter: after };
}

/** Deletes a periodic; false when no periodic has the slug. */
export function deletePeriodic(db: Database, p: { slug: string }): boolean {
  return db.query("DELETE FROM job_periodics WHERE slug = ?").run(p.slug).changes > 0;
}

/** Deactivates the active periodics of `source` whose slug is not in `keep`; returns their slugs, sorted. */
export function deactivateMissingPeriodics(db: Database, p: { source: string; keep: string[]; now: Date }): string[] {
  const keep = p.keep.length > 0 ? ` AND slug NOT IN (${placeholders(p.keep.length)})` : "";
  const rows = db
    .query(`UPDATE job_periodics SET is_active = 0, updated_at = ? WHERE source = ? AND is_active = 1${keep} RETURNING slug`)
    .all(p.now.getTime(), p.source, ...p.keep) as Row[];
  return rows.map((r) => r.slug as string).sort();
}
