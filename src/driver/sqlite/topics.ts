import type { Database } from "bun:sqlite";
import type { BindingRecord, HistoryRecord } from "../../core/types.ts";
import { newId } from "../../core/id.ts";
import type { Row } from "../decode.ts";
import type { BindingSaveRow } from "../types.ts";
import { decode, placeholders } from "./codec.ts";

/** Creates or replaces the binding of `pattern` to `kind`; returns it as stored. */
export function saveBinding(db: Database, p: BindingSaveRow): BindingRecord {
  const row = db
    .query(
      `INSERT INTO job_bindings (pattern, kind, prefix, queue, args, source, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?7, ?6, ?6)
       ON CONFLICT (pattern, kind) DO UPDATE SET queue = excluded.queue, args = excluded.args, source = excluded.source, updated_at = excluded.updated_at
       RETURNING *`,
    )
    .get(p.pattern, p.kind, p.prefix, p.queue, p.argsJson, p.now.getTime(), p.source) as Row;
  return decode.binding(row);
}

/** Removes a binding; true when it existed. */
export function deleteBinding(db: Database, p: { pattern: string; kind: string }): boolean {
  return db.query("DELETE FROM job_bindings WHERE pattern = ? AND kind = ?").run(p.pattern, p.kind).changes > 0;
}

/** Every binding, by pattern then kind. */
export function listBindings(db: Database): BindingRecord[] {
  return (db.query("SELECT * FROM job_bindings ORDER BY pattern, kind").all() as Row[]).map(decode.binding);
}

/** The bindings whose literal prefix is one of `prefixes`, through `job_bindings_prefix`. */
export function matchBindings(db: Database, p: { prefixes: string[] }): BindingRecord[] {
  const rows = db.query(`SELECT * FROM job_bindings WHERE prefix IN (${placeholders(p.prefixes.length)}) ORDER BY pattern, kind`).all(...p.prefixes) as Row[];
  return rows.map(decode.binding);
}

/** Appends history rows, in the caller's transaction. */
export function appendHistory(db: Database, entries: Array<Omit<HistoryRecord, "at"> & { at: Date }>): void {
  const insert = db.query("INSERT INTO job_history (id, job_id, at, action, actor, detail) VALUES (?, ?, ?, ?, ?, ?)");
  for (const e of entries) insert.run(newId(), e.jobId, e.at.getTime(), e.action, e.actor, e.detail === null ? null : JSON.stringify(e.detail));
}

/** A job's history rows, oldest first. */
export function listHistory(db: Database, p: { jobId: string }): HistoryRecord[] {
  return (db.query("SELECT * FROM job_history WHERE job_id = ? ORDER BY at, id").all(p.jobId) as Row[]).map(decode.history);
}
