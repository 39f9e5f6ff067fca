import type { Database, SQLQueryBindings } from "bun:sqlite";
import type { Row } from "../decode.ts";
import { STARTS_KEPT_WINDOWS, type LimitStart } from "../limits.ts";
import type { LimitSaveRow, LimitScope, LimitStored, LimitUsage } from "../types.ts";
import { decode } from "./codec.ts";

/** Creates or replaces a limit; returns it as stored. */
export function saveLimit(db: Database, p: LimitSaveRow): LimitStored {
  const row = db
    .query(
      `INSERT INTO job_limits (scope, name, concurrency, rate_count, rate_window_ms, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
       ON CONFLICT (scope, name) DO UPDATE SET concurrency = excluded.concurrency, rate_count = excluded.rate_count,
         rate_window_ms = excluded.rate_window_ms, updated_at = excluded.updated_at
       RETURNING *`,
    )
    .get(p.scope, p.name, p.concurrency, p.rateCount, p.rateWindowMs, p.now.getTime()) as Row;
  return decode.limit(row);
}

/** Removes a limit and its starts log; true when it existed. */
export function deleteLimit(db: Database, p: { scope: LimitScope; name: string }): boolean {
  db.query("DELETE FROM job_limit_starts WHERE scope = ? AND name = ?").run(p.scope, p.name);
  return db.query("DELETE FROM job_limits WHERE scope = ? AND name = ?").run(p.scope, p.name).changes > 0;
}

/** Every limit, by scope then name. */
export function listLimits(db: Database): LimitStored[] {
  return (db.query("SELECT * FROM job_limits ORDER BY scope, name").all() as Row[]).map(decode.limit);
}

/**
 * Every limit with its running jobs (through `jobs_sweep`, the running rows' index) and its attempts started in
 * the window ending at `now`. Empty when no limit exists: one probe of an empty table, all a claim pays then.
 */
export function limitUsage(db: Database, now: Date): LimitUsage[] {
  const rows = db
    .query(
      `SELECT l.scope, l.name, l.concurrency, l.rate_count,
         CASE WHEN l.concurrency IS NULL THEN 0
              WHEN l.scope = 'kind' THEN (SELECT count(*) FROM jobs INDEXED BY jobs_sweep WHERE state = 'running' AND kind = l.name)
              ELSE (SELECT count(*) FROM jobs INDEXED BY jobs_sweep WHERE state = 'running' AND queue = l.name) END AS running,
         CASE WHEN l.rate_count IS NULL THEN 0
              ELSE (SELECT count(*) FROM job_limit_starts s WHERE s.scope = l.scope AND s.name = l.name AND s.started_at > ?1 - l.rate_window_ms) END AS started
       FROM job_limits l`,
    )
    .all(now.getTime()) as Row[];
  return rows.map((r) => ({ scope: r.scope, name: r.name, concurrency: r.concurrency ?? null, rateCount: r.rate_count ?? null, running: r.running, started: r.started }));
}

/** Logs the starts of rate-limited attempts at `now`, and prunes entries older than two of their windows. */
export function recordLimitStarts(db: Database, starts: LimitStart[], now: Date): void {
  if (starts.length === 0) return;
  const at = now.getTime();
  const values: SQLQueryBindings[] = [];
  for (const s of starts) values.push(s.scope, s.name, at);
  db.query(`INSERT INTO job_limit_starts (scope, name, started_at) VALUES ${starts.map(() => "(?, ?, ?)").join(",")}`).run(...values);
  db.query(
    `DELETE FROM job_limit_starts WHERE started_at <= ?1 - ${STARTS_KEPT_WINDOWS} * coalesce(
       (SELECT l.rate_window_ms FROM job_limits l WHERE l.scope = job_limit_starts.scope AND l.name = job_limit_starts.name), 0)`,
  ).run(at);
}
