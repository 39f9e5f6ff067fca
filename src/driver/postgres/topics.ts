import type { BindingRecord, HistoryRecord } from "../../core/types.ts";
import type { BindingSaveRow } from "../types.ts";
import { decode } from "./codec.ts";
import type { PgContext, PostgresExecutor } from "./context.ts";
import { asExecutor } from "./insert.ts";

/** Creates or replaces the binding of `pattern` to `kind`; returns it as stored. */
export async function bindingSave(ctx: PgContext, p: BindingSaveRow): Promise<BindingRecord> {
  const [row] = await ctx.query(
    `INSERT INTO ${ctx.t.bindings} (pattern, kind, prefix, queue, args, source, created_at, updated_at) VALUES ($1, $2, $3, $4, $5::text::jsonb, $7, $6, $6)
     ON CONFLICT (pattern, kind) DO UPDATE SET queue = excluded.queue, args = excluded.args, source = excluded.source, updated_at = excluded.updated_at
     RETURNING *`,
    [p.pattern, p.kind, p.prefix, p.queue, p.argsJson, p.now, p.source],
  );
  return decode.binding(row!);
}

/** Removes a binding; true when it existed. */
export async function bindingDelete(ctx: PgContext, p: { pattern: string; kind: string }): Promise<boolean> {
  return (await ctx.query(`DELETE FROM ${ctx.t.bindings} WHERE pattern = $1 AND kind = $2 RETURNING kind`, [p.pattern, p.kind])).length > 0;
}

/** Every binding, by pattern then kind in byte order (as SQLite sorts). */
export async function bindingList(ctx: PgContext): Promise<BindingRecord[]> {
  return (await ctx.query(`SELECT * FROM ${ctx.t.bindings} ORDER BY pattern COLLATE "C", kind COLLATE "C"`)).map(decode.binding);
}

/** The bindings whose literal prefix is one of `prefixes`, through `job_bindings_prefix`; on `tx` when given. */
export async function bindingMatch(ctx: PgContext, p: { prefixes: string[]; tx?: PostgresExecutor }): Promise<BindingRecord[]> {
  const rows = await ctx.query(`SELECT * FROM ${ctx.t.bindings} WHERE prefix = ANY($1::text[]) ORDER BY pattern COLLATE "C", kind COLLATE "C"`, [p.prefixes], {
    db: p.tx === undefined ? ctx.sql : asExecutor(p.tx),
  });
  return rows.map(decode.binding);
}

/** A job's history rows, oldest first. */
export async function historyList(ctx: PgContext, p: { jobId: string }): Promise<HistoryRecord[]> {
  return (await ctx.query(`SELECT * FROM ${ctx.t.history} WHERE job_id = $1 ORDER BY at, id`, [p.jobId])).map(decode.history);
}

/**
 * A data-modifying CTE body writing one history row per job id `ids` (a SQL expression yielding rows with `id`)
 * lists, with `action`, `actor` and `detail` as SQL expressions. Ids are random UUIDs: history is read by job
 * and time, never by id.
 */
export function historyInsertSql(table: string, rows: string, action: string, actor: string, at: string, detail = "NULL::jsonb"): string {
  return `INSERT INTO ${table} (id, job_id, at, action, actor, detail)
    SELECT gen_random_uuid()::text, h.id, ${at}, ${action}, ${actor}, ${detail} FROM (${rows}) h`;
}
