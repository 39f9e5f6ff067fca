import type { Row } from "../decode.ts";
import { STARTS_KEPT_WINDOWS, type LimitStart } from "../limits.ts";
import type { LimitSaveRow, LimitScope, LimitStored, LimitUsage } from "../types.ts";
import { decode } from "./codec.ts";
import type { PgContext, PostgresExecutor } from "./context.ts";

/** Creates or replaces a limit; returns it as stored. Listeners on every node hear of it: a raised limit frees work. */
export async function limitSave(ctx: PgContext, p: LimitSaveRow): Promise<LimitStored> {
  const [row] = await ctx.query(
    `WITH saved AS (
       INSERT INTO ${ctx.t.limits} (scope, name, concurrency, rate_count, rate_window_ms, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)
       ON CONFLICT (scope, name) DO UPDATE SET concurrency = excluded.concurrency, rate_count = excluded.rate_count,
         rate_window_ms = excluded.rate_window_ms, updated_at = excluded.updated_at
       RETURNING *
     ) SELECT saved.*, pg_notify($7, saved.name) FROM saved`,
    [p.scope, p.name, p.concurrency, p.rateCount, p.rateWindowMs, p.now, ctx.channel],
  );
  return decode.limit(row!);
}

/** Removes a limit and its starts log; true when it existed. Listeners on every node hear of it. */
export async function limitDelete(ctx: PgContext, p: { scope: LimitScope; name: string }): Promise<boolean> {
  const rows = await ctx.query(
    `WITH starts AS (DELETE FROM ${ctx.t.limitStarts} WHERE scope = $1 AND name = $2),
       gone AS (DELETE FROM ${ctx.t.limits} WHERE scope = $1 AND name = $2 RETURNING name)
     SELECT name, pg_notify($3, name) FROM gone`,
    [p.scope, p.name, ctx.channel],
  );
  return rows.length > 0;
}

/** Every limit, by scope then name in byte order (as SQLite sorts). */
export async function limitList(ctx: PgContext): Promise<LimitStored[]> {
  return (await ctx.query(`SELECT * FROM ${ctx.t.limits} ORDER BY scope, name COLLATE "C"`)).map(decode.limit);
}

/**
 * The usage statement: every limit with its running jobs (through `jobs_sweep`, the running rows' partial
 * index) and its attempts started in the window ending at `$1`. Exported for the plan tests.
 */
export function limitUsageSql(ctx: Pick<PgContext, "t">): string {
  const { t } = ctx;
  return `SELECT l.scope, l.name, l.concurrency, l.rate_count,
      CASE WHEN l.concurrency IS NULL THEN 0
           WHEN l.scope = 'kind' THEN (SELECT count(*) FROM ${t.jobs} j WHERE j.state = 'running' AND j.kind = l.name)
           ELSE (SELECT count(*) FROM ${t.jobs} j WHERE j.state = 'running' AND j.queue = l.name) END::int AS running,
      CASE WHEN l.rate_count IS NULL THEN 0
           ELSE (SELECT count(*) FROM ${t.limitStarts} s
                 WHERE s.scope = l.scope AND s.name = l.name AND s.started_at > $1::timestamptz - l.rate_window_ms * interval '1 millisecond') END::int AS started
    FROM ${t.limits} l`;
}

/** Every limit with what it counts at `now`, on `db` (the claim's transaction). */
export async function limitUsage(ctx: PgContext, now: Date, db: PostgresExecutor): Promise<LimitUsage[]> {
  const rows = await ctx.query(limitUsageSql(ctx), [now], { db });
  return rows.map((r: Row) => ({ scope: r.scope, name: r.name, concurrency: r.concurrency ?? null, rateCount: r.rate_count ?? null, running: r.running, started: r.started }));
}

/** Logs the starts of rate-limited attempts at `now`, and prunes entries older than two of their windows. */
export async function recordLimitStarts(ctx: PgContext, starts: LimitStart[], now: Date, db: PostgresExecutor): Promise<void> {
  if (starts.length === 0) return;
  await ctx.query(
    `WITH logged AS (
       INSERT INTO ${ctx.t.limitStarts} (scope, name, started_at) SELECT scope, name, $3 FROM unnest($1::text[], $2::text[]) AS u(scope, name)
     )
     DELETE FROM ${ctx.t.limitStarts} s WHERE s.started_at <= $3::timestamptz - ${STARTS_KEPT_WINDOWS} * coalesce(
       (SELECT l.rate_window_ms FROM ${ctx.t.limits} l WHERE l.scope = s.scope AND l.name = s.name), 0) * interval '1 millisecond'`,
    [starts.map((s) => s.scope), starts.map((s) => s.name), now],
    { db },
  );
}
