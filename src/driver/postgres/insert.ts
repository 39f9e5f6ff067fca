import { FlywheelError } from "../../core/errors.ts";
import type { Row } from "../decode.ts";
import type { InsertOutcome, JobInsertRow } from "../types.ts";
import type { PgContext, PostgresExecutor } from "./context.ts";
import { jsonColumn, storableJsonText, type Unstorable } from "./storable.ts";
import { ACTIVE_SQL } from "../sql.ts";
import type { Scope } from "./tables.ts";

/** Attempts at inserting rows whose unique key holder vanished between the insert and the holder lookup. */
const INSERT_TRIES = 3;

/** A bound column of an inserted job: its name in `v`, its SQL type, and its value from a row. */
interface InsertColumn {
  name: string;
  type: string;
  value(job: JobInsertRow): unknown;
}

/** The columns `jobs` inserts bind, `id` first; JSON goes in as text and is cast in {@link INSERT_SELECT_LIST}. */
function insertColumns(unstorable: Unstorable): InsertColumn[] {
  const json = (value: unknown, j: JobInsertRow, what: string) => jsonColumn(value, unstorable, `${j.kind} ${what}`);
  return [
    { name: "id", type: "text", value: (j) => j.id },
    { name: "kind", type: "text", value: (j) => j.kind },
    { name: "queue", type: "text", value: (j) => j.queue },
    { name: "args", type: "text", value: (j) => storableJsonText(j.argsJson, unstorable, `${j.kind} args`) },
    { name: "priority", type: "int", value: (j) => j.priority },
    { name: "state", type: "text", value: (j) => j.state },
    { name: "max_attempts", type: "int", value: (j) => j.maxAttempts },
    // Durations may come in fractional milliseconds ("1.5ms"); bigint needs whole ones.
    { name: "timeout_ms", type: "bigint", value: (j) => (j.timeoutMs === null ? null : Math.round(j.timeoutMs)) },
    { name: "scheduled_at", type: "timestamptz", value: (j) => j.scheduledAt.toISOString() },
    { name: "unique_key", type: "text", value: (j) => j.uniqueKey },
    { name: "unique_active_key", type: "text", value: (j) => j.uniqueActiveKey },
    { name: "parent_job_id", type: "text", value: (j) => j.parentJobId },
    { name: "root_job_id", type: "text", value: (j) => j.rootJobId },
    { name: "executor_class", type: "text", value: (j) => j.executorClass },
    { name: "tags", type: "text", value: (j) => json(j.tags, j, "tags") },
    { name: "metadata", type: "text", value: (j) => json(j.metadata, j, "metadata") },
    { name: "created_at", type: "timestamptz", value: (j) => j.createdAt.toISOString() },
  ];
}

/** {@link insertColumns} for each way of treating unstorable JSON, built once rather than per insert. */
const INSERT_COLUMNS = { refuse: insertColumns("refuse"), replace: insertColumns("replace") } as const;

const INSERT_COLUMN_NAMES =
  "id, kind, queue, args, priority, state, max_attempts, timeout_ms, scheduled_at, unique_key, unique_active_key, parent_job_id, root_job_id, executor_class, tags, metadata, created_at, updated_at";
const INSERT_SELECT_LIST =
  "id, kind, queue, args::jsonb, priority, state, max_attempts, timeout_ms, scheduled_at, unique_key, unique_active_key, parent_job_id, root_job_id, executor_class, tags::jsonb, metadata::jsonb, created_at, created_at";

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
 * condition on the unnest rows, alias `v`) may test.
 */
export function insertSql(s: Scope, jobs: JobInsertRow[], options: { owner?: string[]; guard?: string; unstorable?: Unstorable } = {}): InsertSql {
  const { t, ps } = s;
  const columns = INSERT_COLUMNS[options.unstorable ?? "refuse"];
  const bound = columns.map((c) => ps.add(jobs.map(c.value)));
  const slot = (name: string) => bound[columns.findIndex((c) => c.name === name)]!;
  const arrays = columns.map((c, i) => `${bound[i]}::${c.type}[]`);
  const owner = options.owner ? ps.add(options.owner) : null;
  if (owner) arrays.push(`${owner}::text[]`);
  const keyed = jobs.some((j) => j.uniqueKey !== null || j.uniqueActiveKey !== null);
  const text = `INSERT INTO ${t.jobs} (${INSERT_COLUMN_NAMES})
    SELECT ${INSERT_SELECT_LIST}
    FROM unnest(${arrays.join(", ")}) WITH ORDINALITY AS v(${columns.map((c) => c.name).join(", ")}, ${owner ? "owner, " : ""}ord)
    ${options.guard ? `WHERE ${options.guard}` : ""}
    ${keyed ? "ORDER BY ord ON CONFLICT DO NOTHING" /* input order decides which of two rows sharing a key wins, as on SQLite */ : ""}
    RETURNING id, queue, state`;
  return { text, ids: slot("id"), uniqueKeys: slot("unique_key"), activeKeys: slot("unique_active_key"), owner };
}

/** {@link insertSql} for one row, as `VALUES`: scalar parameters instead of one-element arrays to unpack. */
function insertOneSql(s: Scope, job: JobInsertRow): string {
  const keyed = job.uniqueKey !== null || job.uniqueActiveKey !== null;
  const columns = INSERT_COLUMNS.refuse;
  const values = columns.map((c) => `${s.ps.add(c.value(job))}::${c.type}`);
  return `INSERT INTO ${s.t.jobs} (${INSERT_COLUMN_NAMES})
    SELECT ${INSERT_SELECT_LIST} FROM (VALUES (${values.join(", ")})) AS v(${columns.map((c) => c.name).join(", ")})
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
  const insert = jobs.length === 1 ? insertOneSql(s, jobs[0]!) : insertSql(s, jobs).text;
  const rows = await ctx.query(`WITH ins AS (${insert}), woke AS (${notifyInserted(s, "ins")}) SELECT ins.id FROM ins, woke`, s.ps.values, { db });
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
