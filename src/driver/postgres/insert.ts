import { FlywheelError } from "../../core/errors.ts";
import type { Row } from "../decode.ts";
import type { InsertOutcome, JobInsertRow } from "../types.ts";
import type { PgContext, PostgresExecutor } from "./context.ts";
import { jsonColumn, storableJsonText, type Unstorable } from "./storable.ts";
import { ACTIVE_SQL } from "../sql.ts";
import type { Scope } from "./tables.ts";

/** Attempts at inserting rows whose unique key holder vanished between the insert and the holder lookup. */
const INSERT_TRIES = 3;

/**
 * A bound column of an inserted job: its name in `v`, its SQL type, how the select list reads it (`jsonb` for
 * JSON, which is bound as text), whether a batch may bind it once for every row, and its value from a row.
 */
interface InsertColumn {
  name: string;
  type: string;
  cast?: string;
  shareable: boolean;
  value(job: JobInsertRow): unknown;
}

/**
 * The columns `jobs` inserts bind, `id` first. `id` and the two keys are never shared: statements that
 * insert as one of their parts reuse those arrays ({@link InsertSql}).
 */
function insertColumns(unstorable: Unstorable): InsertColumn[] {
  const json = (value: unknown, j: JobInsertRow, what: string) => jsonColumn(value, unstorable, `${j.kind} ${what}`);
  return [
    { name: "id", type: "text", shareable: false, value: (j) => j.id },
    { name: "kind", type: "text", shareable: true, value: (j) => j.kind },
    { name: "queue", type: "text", shareable: true, value: (j) => j.queue },
    { name: "args", type: "text", cast: "jsonb", shareable: true, value: (j) => storableJsonText(j.argsJson, unstorable, `${j.kind} args`) },
    { name: "priority", type: "int", shareable: true, value: (j) => j.priority },
    { name: "state", type: "text", shareable: true, value: (j) => j.state },
    { name: "max_attempts", type: "int", shareable: true, value: (j) => j.maxAttempts },
    // Durations may come in fractional milliseconds ("1.5ms"); bigint needs whole ones.
    { name: "timeout_ms", type: "bigint", shareable: true, value: (j) => (j.timeoutMs === null ? null : Math.round(j.timeoutMs)) },
    { name: "scheduled_at", type: "timestamptz", shareable: true, value: (j) => j.scheduledAt.toISOString() },
    { name: "unique_key", type: "text", shareable: false, value: (j) => j.uniqueKey },
    { name: "unique_active_key", type: "text", shareable: false, value: (j) => j.uniqueActiveKey },
    { name: "parent_job_id", type: "text", shareable: true, value: (j) => j.parentJobId },
    { name: "root_job_id", type: "text", shareable: true, value: (j) => j.rootJobId },
    { name: "executor_class", type: "text", shareable: true, value: (j) => j.executorClass },
    { name: "tags", type: "text", cast: "jsonb", shareable: true, value: (j) => json(j.tags, j, "tags") },
    { name: "metadata", type: "text", cast: "jsonb", shareable: true, value: (j) => json(j.metadata, j, "metadata") },
    { name: "created_at", type: "timestamptz", shareable: true, value: (j) => j.createdAt.toISOString() },
  ];
}

/** {@link insertColumns} for each way of treating unstorable JSON, built once rather than per insert. */
const INSERT_COLUMNS = { refuse: insertColumns("refuse"), replace: insertColumns("replace") } as const;

/** The inserted columns; `updated_at` repeats `created_at`, the last one. */
const INSERT_COLUMN_NAMES = `${INSERT_COLUMNS.refuse.map((c) => c.name).join(", ")}, updated_at`;

/** Whether a row can meet a unique-key collision, which only `ON CONFLICT DO NOTHING` turns into a skip. */
function carriesKey(job: JobInsertRow): boolean {
  return job.uniqueKey !== null || job.uniqueActiveKey !== null;
}

/** How the select list reads `column` from `source` (`v.name` or a placeholder). */
function selected(column: InsertColumn, source: string): string {
  return column.cast ? `${source}::${column.cast}` : source;
}

/** An insert's text and the placeholders of the id, key and owner arrays, so a caller's statement can reuse them. */
export interface InsertSql {
  text: string;
  ids: string;
  uniqueKeys: string;
  activeKeys: string;
  owner: string | null;
}

/**
 * The `INSERT ... SELECT FROM unnest(...) RETURNING id, queue, state` for `jobs`, binding one array per column
 * into `s.ps`; `ON CONFLICT DO NOTHING` only when a row carries a unique key (ids are fresh UUIDv7s, and the
 * speculative insertion that clause costs is a fifth of a single insert). `owner` adds a column the `guard` (a
 * condition on the unnest rows, alias `v`) may test. With `share`, a column holding one value in every row is
 * bound once as a scalar instead of an array of copies: a batch from `insertMany` usually differs only in ids
 * and args, so the server parses one timestamp, tags and metadata instead of one per row.
 */
export function insertSql(
  s: Scope,
  jobs: JobInsertRow[],
  options: { owner?: string[]; guard?: string; unstorable?: Unstorable; share?: boolean } = {},
): InsertSql {
  const { t, ps } = s;
  const columns = INSERT_COLUMNS[options.unstorable ?? "refuse"];
  const arrays: string[] = [];
  const names: string[] = [];
  const slots = new Map<string, string>();
  const select = columns.map((column) => {
    const values = jobs.map(column.value);
    const first = values[0];
    if (options.share && column.shareable && values.every((value) => value === first)) return selected(column, `${ps.add(first)}::${column.type}`);
    const slot = ps.add(values);
    slots.set(column.name, slot);
    arrays.push(`${slot}::${column.type}[]`);
    names.push(column.name);
    return selected(column, column.name);
  });
  const owner = options.owner ? ps.add(options.owner) : null;
  if (owner) {
    arrays.push(`${owner}::text[]`);
    names.push("owner");
  }
  const keyed = jobs.some(carriesKey);
  const text = `INSERT INTO ${t.jobs} (${INSERT_COLUMN_NAMES})
    SELECT ${select.join(", ")}, ${select.at(-1)}
    FROM unnest(${arrays.join(", ")}) WITH ORDINALITY AS v(${names.join(", ")}, ord)
    ${options.guard ? `WHERE ${options.guard}` : ""}
    ${keyed ? "ORDER BY ord ON CONFLICT DO NOTHING" /* input order decides which of two rows sharing a key wins, as on SQLite */ : ""}
    RETURNING id, queue, state`;
  return { text, ids: slots.get("id")!, uniqueKeys: slots.get("unique_key")!, activeKeys: slots.get("unique_active_key")!, owner };
}

/** {@link insertSql} for one row, as `VALUES`: scalar parameters instead of one-element arrays to unpack. */
function insertOneSql(s: Scope, job: JobInsertRow): string {
  const keyed = carriesKey(job);
  const columns = INSERT_COLUMNS.refuse;
  const values = columns.map((c) => `${s.ps.add(c.value(job))}::${c.type}`);
  const select = columns.map((c) => selected(c, c.name));
  return `INSERT INTO ${s.t.jobs} (${INSERT_COLUMN_NAMES})
    SELECT ${select.join(", ")}, ${select.at(-1)} FROM (VALUES (${values.join(", ")})) AS v(${columns.map((c) => c.name).join(", ")})
    ${keyed ? "ON CONFLICT DO NOTHING" : ""}
    RETURNING id, queue, state`;
}

/** `WITH woke AS (...)` body: one `pg_notify` per distinct queue of `rows` (a CTE of inserted jobs) that got runnable jobs. */
export function notifyInserted(s: Scope, rows: string): string {
  return `SELECT count(pg_notify(${s.ps.add(s.channel)}::text, d.queue)) AS n FROM (SELECT DISTINCT queue FROM ${rows} WHERE state = 'available') d`;
}

/**
 * Inserts rows in input order with one statement (`VALUES` for one row, `unnest` for more: no bind-parameter
 * ceiling, one round trip), notifying `<schema>_jobs` once per queue that got runnable jobs, then matches
 * colliding rows to the job holding their key. `tx`, when given, is the caller's open transaction.
 */
export async function jobInsert(ctx: PgContext, p: { jobs: JobInsertRow[]; tx?: PostgresExecutor }): Promise<InsertOutcome[]> {
  if (p.jobs.length === 0) return [];
  return insertJobs(ctx, p.tx === undefined ? ctx.sql : asExecutor(p.tx), p.jobs);
}

async function insertJobs(ctx: PgContext, db: PostgresExecutor, jobs: JobInsertRow[], depth = 1): Promise<InsertOutcome[]> {
  const s = ctx.scope();
  const insert = jobs.length === 1 ? insertOneSql(s, jobs[0]!) : insertSql(s, jobs, { share: true }).text;
  const keyed = jobs.some(carriesKey);
  const statement = `WITH ins AS (${insert}), woke AS (${notifyInserted(s, "ins")})`;
  if (!keyed) {
    // Without a unique key there is no ON CONFLICT: a taken id fails the statement, so every row went in
    // and a count says so without sending every id back.
    const [row] = await ctx.query(`${statement} SELECT count(*)::int AS n FROM ins, woke`, s.ps.values, { db });
    ctx.epoch.jobsAdded(row!.n);
    return jobs.map((job) => ({ inserted: true, id: job.id }));
  }
  const rows = await ctx.query(`${statement} SELECT ins.id FROM ins, woke`, s.ps.values, { db });
  const inserted = new Set<string>(rows.map((r: Row) => r.id as string));
  ctx.epoch.jobsAdded(inserted.size);
  const collided = jobs.filter((j) => !inserted.has(j.id));
  const holders = collided.length > 0 ? await resolveCollisions(ctx, db, collided, depth) : new Map<JobInsertRow, InsertOutcome>();
  return jobs.map((job) => (inserted.has(job.id) ? { inserted: true, id: job.id } : holders.get(job)!));
}

/**
 * Each of `jobs` as inserted (its id in `inserted`) or as the collision it met, naming the holder of its key.
 * For statements that insert as one of their parts (follow-ups, periodic fires).
 */
export async function insertOutcomes(ctx: PgContext, jobs: JobInsertRow[], inserted: ReadonlySet<string>): Promise<InsertOutcome[]> {
  const collided = jobs.filter((j) => !inserted.has(j.id));
  const holders = collided.length > 0 ? await resolveCollisions(ctx, ctx.sql, collided) : new Map<JobInsertRow, InsertOutcome>();
  return jobs.map((j) => (inserted.has(j.id) ? { inserted: true, id: j.id } : holders.get(j)!));
}

/**
 * The holder of each collided row's key. A holder can vanish between the insert and this lookup (its
 * `unique_active_key` went terminal); such rows are inserted again, a bounded number of times.
 */
async function resolveCollisions(ctx: PgContext, db: PostgresExecutor, collided: JobInsertRow[], depth = 1): Promise<Map<JobInsertRow, InsertOutcome>> {
  const holders = await findHolders(ctx, db, collided);
  const orphans = collided.filter((j) => !holders.has(j));
  if (orphans.length === 0) return holders;
  if (depth >= INSERT_TRIES) {
    throw new FlywheelError("conflict", `flywheel: job ${orphans[0]!.id} was not inserted: its id is taken (and no unique key holder was found)`);
  }
  const retried = await insertJobs(ctx, db, orphans, depth + 1);
  orphans.forEach((job, i) => holders.set(job, retried[i]!));
  return holders;
}

async function findHolders(ctx: PgContext, db: PostgresExecutor, jobs: JobInsertRow[]): Promise<Map<JobInsertRow, InsertOutcome>> {
  const uniqueKeys = jobs.flatMap((j) => (j.uniqueKey === null ? [] : [j.uniqueKey]));
  const activeKeys = jobs.flatMap((j) => (j.uniqueActiveKey === null ? [] : [j.uniqueActiveKey]));
  const rows = await ctx.query(
    `SELECT 'unique_key' AS key, unique_key AS value, id FROM ${ctx.t.jobs} WHERE unique_key = ANY($1::text[])
     UNION ALL
     SELECT 'unique_active_key', unique_active_key, id FROM ${ctx.t.jobs}
     WHERE unique_active_key = ANY($2::text[]) AND state IN (${ACTIVE_SQL})`,
    [uniqueKeys, activeKeys],
    { db },
  );
  const byKey = new Map<string, string>();
  for (const r of rows) byKey.set(`${r.key}\u0000${r.value}`, r.id);
  const holders = new Map<JobInsertRow, InsertOutcome>();
  for (const job of jobs) {
    // The permanent key is reported first, as on SQLite, when a row carries both.
    for (const key of ["unique_key", "unique_active_key"] as const) {
      const value = key === "unique_key" ? job.uniqueKey : job.uniqueActiveKey;
      const id = value === null ? undefined : byKey.get(`${key}\u0000${value}`);
      if (id !== undefined && value !== null) {
        holders.set(job, { inserted: false, id, key, value });
        break;
      }
    }
  }
  return holders;
}

/** The caller's `tx`, checked at run time: it arrives from untyped application code. */
export function asExecutor(tx: unknown): PostgresExecutor {
  if (typeof tx === "function" && typeof (tx as { unsafe?: unknown }).unsafe === "function") return tx as PostgresExecutor;
  throw new FlywheelError("validation", "flywheel: with PostgreSQL, `tx` must be a postgres.js transaction (the `tx` of sql.begin) or Sql");
}
