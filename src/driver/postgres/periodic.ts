import { newId } from "../../core/id.ts";
import { OVERLAP_SKIP_REASON } from "../../core/skip-reason.ts";
import type { PeriodicRecord } from "../../core/types.ts";
import type { InsertOutcome, PeriodicFireParams, PeriodicRunParams, PeriodicSaveRow } from "../types.ts";
import { decode } from "./codec.ts";
import type { PgContext } from "./context.ts";
import { insertOutcomes, insertSql, notifyInserted } from "./insert.ts";
import { jsonColumn, storableText } from "./storable.ts";

/** The periodic with this slug, or null. */
export async function periodicGet(ctx: PgContext, p: { slug: string }): Promise<PeriodicRecord | null> {
  const [row] = await ctx.query(`SELECT * FROM ${ctx.t.periodics} WHERE slug = $1`, [p.slug]);
  return row ? decode.periodic(row) : null;
}

/** Every periodic, by slug in byte order (as SQLite sorts). */
export async function periodicList(ctx: PgContext): Promise<PeriodicRecord[]> {
  return (await ctx.query(`SELECT * FROM ${ctx.t.periodics} ORDER BY slug COLLATE "C"`)).map(decode.periodic);
}

/** Inserts or replaces the periodic with this slug, keeping its id, created_at and skip counters. */
export async function periodicSave(ctx: PgContext, p: PeriodicSaveRow): Promise<PeriodicRecord> {
  const [row] = await ctx.query(
    `INSERT INTO ${ctx.t.periodics} (id, slug, kind, queue, args_template, cron_expr, interval_seconds, timezone, overlap,
       catch_up, backfill, max_attempts, priority, timeout_ms, source, next_run_at, is_active, created_at, updated_at, jitter_ms)
     VALUES ($1, $2, $3, $4, $5::text::jsonb, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18, $19)
     ON CONFLICT (slug) DO UPDATE SET kind = excluded.kind, queue = excluded.queue, args_template = excluded.args_template,
       cron_expr = excluded.cron_expr, interval_seconds = excluded.interval_seconds, timezone = excluded.timezone,
       overlap = excluded.overlap, catch_up = excluded.catch_up, backfill = excluded.backfill,
       max_attempts = excluded.max_attempts, priority = excluded.priority, timeout_ms = excluded.timeout_ms,
       jitter_ms = excluded.jitter_ms, source = excluded.source, next_run_at = excluded.next_run_at, is_active = excluded.is_active,
       updated_at = excluded.updated_at
     RETURNING *`,
    [
      newId(),
      p.slug,
      p.kind,
      p.queue,
      jsonColumn(p.args ?? {}, "refuse", `periodic ${p.slug} args`),
      p.cron,
      p.intervalSeconds,
      p.timezone,
      p.overlap,
      p.catchUp,
      p.backfill,
      p.maxAttempts,
      p.priority,
      p.timeoutMs === null ? null : Math.round(p.timeoutMs),
      p.source,
      p.nextRunAt,
      p.isActive,
      p.now,
      p.jitterMs === null ? null : Math.round(p.jitterMs),
    ],
  );
  return decode.periodic(row!);
}

/** Active periodics with `next_run_at <= now`, earliest first (a walk of `job_periodics_due`). */
/** The earliest `next_run_at` of the active periodics, read from `job_periodics_due`; null when none is active. */
export async function periodicNextRunAt(ctx: PgContext): Promise<Date | null> {
  const [row] = await ctx.query(`SELECT min(next_run_at) AS next FROM ${ctx.t.periodics} WHERE is_active`);
  return (row?.next as Date | null | undefined) ?? null;
}

export async function periodicListDue(ctx: PgContext, p: { now: Date; limit: number }): Promise<PeriodicRecord[]> {
  const rows = await ctx.query(
    `SELECT * FROM ${ctx.t.periodics} WHERE is_active AND next_run_at <= $1 ORDER BY next_run_at LIMIT $2`,
    [p.now, p.limit],
  );
  return rows.map(decode.periodic);
}

/**
 * One statement: `cas` locks the periodic only while `next_run_at` is still the expected value (of two
 * schedulers firing the same instant, the second waits on the row lock, re-reads the advanced value and gets
 * nothing), `ins` inserts the fires only then, and `upd` advances `next_run_at` and adds the skipped fires,
 * counting as overlap every fire that collided on `unique_active_key` (its `unique_key` being free).
 */
export async function periodicFire(ctx: PgContext, p: PeriodicFireParams): Promise<{ fired: boolean; inserted: InsertOutcome[] }> {
  const s = ctx.scope();
  const { t, ps } = s;
  const now = `${ps.add(p.now)}::timestamptz`;
  const id = `${ps.add(p.id)}::text`;
  const cas = `cas AS (SELECT id FROM ${t.periodics} WHERE id = ${id} AND next_run_at = ${ps.add(p.expectedNextRunAt)}::timestamptz FOR UPDATE)`;
  let ins = "ins AS (SELECT NULL::text AS id, NULL::text AS queue, NULL::text AS state WHERE false)";
  let overlapped = "0";
  if (p.jobs.length > 0) {
    const insert = insertSql(s, p.jobs, { guard: "EXISTS (SELECT 1 FROM cas)" });
    ins = `ins AS (${insert.text})`;
    overlapped = `(SELECT count(*) FROM unnest(${insert.ids}::text[], ${insert.uniqueKeys}::text[], ${insert.activeKeys}::text[]) AS f(id, uk, uak)
      WHERE f.uak IS NOT NULL AND f.id NOT IN (SELECT id FROM ins)
        AND (f.uk IS NULL OR NOT EXISTS (SELECT 1 FROM ${t.jobs} j WHERE j.unique_key = f.uk)))::int`;
  }
  const skipped = `${ps.add(p.skipped)}::int`;
  const reason = `${ps.add(p.skipReason)}::text`;
  const overlapReason = `${ps.add(OVERLAP_SKIP_REASON)}::text`;
  const text = `WITH ${cas}, ${ins},
    counts AS (SELECT ${overlapped} AS overlapped, EXISTS (SELECT 1 FROM ins) AS enqueued),
    upd AS (
      UPDATE ${t.periodics} pe SET next_run_at = ${ps.add(p.nextRunAt)}::timestamptz, updated_at = ${now},
        skipped_count = pe.skipped_count + ${skipped} + c.overlapped,
        last_skipped_at = CASE WHEN ${skipped} + c.overlapped > 0 THEN ${now} ELSE pe.last_skipped_at END,
        last_skip_reason = CASE WHEN c.overlapped > 0 THEN ${overlapReason} WHEN ${skipped} > 0 THEN ${reason} ELSE pe.last_skip_reason END,
        last_enqueued_at = CASE WHEN c.enqueued THEN ${now} ELSE pe.last_enqueued_at END,
        last_error = NULL, last_error_at = NULL
      FROM cas, counts c WHERE pe.id = cas.id
      RETURNING pe.id
    ),
    woke AS (${notifyInserted(s, "ins")})
    SELECT (SELECT count(*) FROM upd)::int AS fired, (SELECT coalesce(array_agg(id), '{}') FROM ins) AS ids FROM woke`;
  const [row] = await ctx.query(text, ps.values);
  if (row!.fired === 0) return { fired: false, inserted: [] };
  return { fired: true, inserted: await insertOutcomes(ctx, p.jobs, new Set<string>(row!.ids as string[])) };
}

/** Pauses or resumes the periodic with this slug; false when there is none. */
/** Records why a periodic could not fire; false when it no longer exists. */
export async function periodicRecordError(ctx: PgContext, p: { id: string; error: string; now: Date }): Promise<boolean> {
  const rows = await ctx.query(`UPDATE ${ctx.t.periodics} SET last_error = $1, last_error_at = $2 WHERE id = $3 RETURNING id`, [
    storableText(p.error),
    p.now,
    p.id,
  ]);
  return rows.length > 0;
}

export async function periodicSetActive(ctx: PgContext, p: { slug: string; active: boolean; now: Date; pausedBy?: string }): Promise<boolean> {
  const rows = await ctx.query(`UPDATE ${ctx.t.periodics} SET is_active = $1, paused_by = $2, updated_at = $3 WHERE slug = $4 RETURNING id`, [
    p.active,
    p.active ? null : (p.pausedBy ?? null),
    p.now,
    p.slug,
  ]);
  return rows.length > 0;
}

/** Records how a run of a periodic ended, in one statement; the failure streak before and after. */
export async function periodicRecordRun(ctx: PgContext, p: PeriodicRunParams): Promise<{ failuresBefore: number; failuresAfter: number } | null> {
  // `before` locks the row and reads the streak this update moves, so two nodes recording at once both count.
  const [row] = await ctx.query(
    `WITH before AS (SELECT id, consecutive_failures AS n FROM ${ctx.t.periodics} WHERE slug = $1 FOR UPDATE),
     upd AS (
       UPDATE ${ctx.t.periodics} pe SET last_job_id = $2, last_outcome = $3, last_exit_code = $4, last_duration_ms = $5,
         last_finished_at = $6, last_success_at = CASE WHEN $7 THEN $6 ELSE pe.last_success_at END,
         consecutive_failures = CASE WHEN $7 THEN 0 ELSE b.n + 1 END
       FROM before b WHERE pe.id = b.id
       RETURNING pe.consecutive_failures AS after
     )
     SELECT b.n AS before, (SELECT after FROM upd) AS after FROM before b`,
    [p.slug, p.jobId, p.outcome, p.exitCode, p.durationMs === null ? null : Math.round(p.durationMs), p.finishedAt, p.succeeded],
  );
  return row ? { failuresBefore: row.before as number, failuresAfter: row.after as number } : null;
}

/** Deletes the periodic with this slug; false when there is none. */
export async function periodicDelete(ctx: PgContext, p: { slug: string }): Promise<boolean> {
  return (await ctx.query(`DELETE FROM ${ctx.t.periodics} WHERE slug = $1 RETURNING id`, [p.slug])).length > 0;
}

/** Deactivates active periodics of `source` whose slug is not in `keep`; returns their slugs. */
export async function periodicDeactivateMissing(ctx: PgContext, p: { source: string; keep: string[]; now: Date }): Promise<string[]> {
  const rows = await ctx.query(
    `UPDATE ${ctx.t.periodics} SET is_active = false, updated_at = $1
     WHERE source = $2 AND is_active AND slug <> ALL($3::text[]) RETURNING slug`,
    [p.now, p.source, p.keep],
  );
  return rows.map((r) => r.slug as string).sort();
}
