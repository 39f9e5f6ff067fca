import { Database, type SQLQueryBindings } from "bun:sqlite";
import { FlywheelError } from "../../core/errors.ts";
import type { Row } from "../decode.ts";
import { TERMINAL_SQL } from "../sql.ts";
import type { InsertOutcome, JobInsertRow } from "../types.ts";
import { immediate } from "./connection.ts";

/** A column an insert writes, and its stored value for a row (timestamps as integer milliseconds). */
interface InsertColumn {
  name: string;
  value(job: JobInsertRow): SQLQueryBindings;
}

/** The columns `jobs` inserts bind; `updated_at` repeats `created_at`, the last one. */
const COLUMNS: InsertColumn[] = [
  { name: "id", value: (j) => j.id },
  { name: "kind", value: (j) => j.kind },
  { name: "queue", value: (j) => j.queue },
  { name: "args", value: (j) => j.argsJson },
  { name: "priority", value: (j) => j.priority },
  { name: "state", value: (j) => j.state },
  { name: "max_attempts", value: (j) => j.maxAttempts },
  { name: "timeout_ms", value: (j) => j.timeoutMs },
  { name: "scheduled_at", value: (j) => j.scheduledAt.getTime() },
  { name: "unique_key", value: (j) => j.uniqueKey },
  { name: "unique_active_key", value: (j) => j.uniqueActiveKey },
  { name: "parent_job_id", value: (j) => j.parentJobId },
  { name: "root_job_id", value: (j) => j.rootJobId },
  { name: "executor_class", value: (j) => j.executorClass },
  { name: "tags", value: (j) => jsonText(j.tags) },
  { name: "metadata", value: (j) => jsonText(j.metadata) },
  { name: "created_at", value: (j) => j.createdAt.getTime() },
];
const COLUMN_NAMES = `${COLUMNS.map((c) => c.name).join(", ")}, updated_at`;
const LAST = COLUMNS.length;

/** One row a statement, prepared once per connection (bun:sqlite caches `db.query` by its text). */
const INSERT_ONE = `INSERT INTO jobs (${COLUMN_NAMES}) VALUES (${COLUMNS.map((_, i) => `?${i + 1}`).join(", ")}, ?${LAST}) ON CONFLICT DO NOTHING`;

/** The JSON text of `[]` and `{}` without a `JSON.stringify` call: most jobs carry no tags and no metadata. */
function jsonText(value: unknown[] | Record<string, unknown>): string {
  if (Array.isArray(value)) return value.length === 0 ? "[]" : JSON.stringify(value);
  for (const _ in value) return JSON.stringify(value);
  return "{}";
}

/**
 * `JSON.stringify` escapes a lone surrogate as `\\udXXX` (paired ones it writes as they are); a batch's JSON
 * text with such an escape may hold one.
 */
const LONE_SURROGATE = /\\ud[89a-f]/i;

/**
 * Inserts `jobs` in input order on `db`, inside whatever transaction is open on it; unique collisions are
 * skipped (of two rows sharing a key, the first wins) and reported with the holder's id.
 */
export function insertJobs(db: Database, jobs: JobInsertRow[]): InsertOutcome[] {
  if (jobs.length === 0) return [];
  const inserted = jobs.length > 1 ? insertFromJson(db, jobs) : null;
  return inserted ? outcomes(db, jobs, inserted) : insertEach(db, jobs);
}

/** One prepared statement run per row; `changes` tells an inserted row from a skipped one. */
function insertEach(db: Database, jobs: JobInsertRow[]): InsertOutcome[] {
  const insert = db.query(INSERT_ONE);
  const values: SQLQueryBindings[] = new Array(LAST);
  return jobs.map((job) => {
    for (let c = 0; c < LAST; c++) values[c] = COLUMNS[c]!.value(job);
    return insert.run(...values).changes > 0 ? { inserted: true, id: job.id } : findHolder(db, job);
  });
}

/**
 * A batch as one `INSERT … SELECT … FROM json_each(?)`: a value every row shares is bound once, the others
 * travel as one JSON array a row, so a batch costs one statement, one bound text and no per-row call into
 * SQLite (multi-row `VALUES` spent about as long binding and spreading 18 parameters a row as SQLite spent
 * writing it). Returns the inserted ids, or null when a string holds a lone surrogate: JSON would store its
 * escape where binding stores U+FFFD, so such a batch goes row by row (as does one whose insert met a taken id).
 */
function insertFromJson(db: Database, jobs: JobInsertRow[]): Set<string> | null {
  const first = jobs[0]!;
  const shared: SQLQueryBindings[] = [];
  const varying: InsertColumn[] = [];
  const select = COLUMNS.map((column) => {
    const value = column.value(first);
    if (jobs.every((job) => column.value(job) === value)) {
      shared.push(value);
      return `?${shared.length + 1}`;
    }
    varying.push(column);
    return `value->>${varying.length - 1}`;
  });
  const json = JSON.stringify(jobs.map((job) => varying.map((column) => column.value(job))));
  if (LONE_SURROGATE.test(json)) return null;
  const keyed = jobs.some((j) => j.uniqueKey !== null || j.uniqueActiveKey !== null);
  // `WHERE true` lets SQLite's parser tell the upsert clause from a join's ON.
  const sql = `INSERT INTO jobs (${COLUMN_NAMES}) SELECT ${select.join(", ")}, ${select[LAST - 1]} FROM json_each(?1) WHERE true
    ON CONFLICT DO NOTHING${keyed ? " RETURNING id" : ""}`;
  const statement = db.query(sql);
  if (keyed) return new Set((statement.all(json, ...shared) as Row[]).map((r) => r.id as string));
  // Without keys only a taken id can skip a row (ids are fresh UUIDv7s): should one be, the batch goes again
  // row by row, which names it.
  db.run("SAVEPOINT flywheel_insert");
  try {
    if (statement.run(json, ...shared).changes === jobs.length) return new Set(jobs.map((j) => j.id));
    db.run("ROLLBACK TO flywheel_insert");
    return null;
  } finally {
    db.run("RELEASE flywheel_insert");
  }
}

/** Outcomes in input order: the inserted as such, the others naming the holder of their key. */
function outcomes(db: Database, jobs: JobInsertRow[], inserted: ReadonlySet<string>): InsertOutcome[] {
  return jobs.map((job) => (inserted.has(job.id) ? { inserted: true, id: job.id } : findHolder(db, job)));
}

/**
 * Whether inserting `jobs` is one write statement, atomic without a transaction around it: a lone row with no
 * unique key (a keyed one may read the holder of its key after the insert).
 */
export function isOneStatement(jobs: JobInsertRow[]): boolean {
  return jobs.length === 1 && jobs[0]!.uniqueKey === null && jobs[0]!.uniqueActiveKey === null;
}

/**
 * {@link insertJobs} as one unit: a batch commits together, in its own `BEGIN IMMEDIATE` transaction unless
 * one is already open on `db` (the runtime's own write, or the caller's for an outbox insert).
 */
export function insertJobBatch(db: Database, jobs: JobInsertRow[]): InsertOutcome[] {
  return jobs.length > 1 && !db.inTransaction ? immediate(db, () => insertJobs(db, jobs)) : insertJobs(db, jobs);
}

/** The caller's `tx` as a bun:sqlite Database. */
export function asDatabase(tx: unknown): Database {
  if (tx instanceof Database) return tx;
  throw new FlywheelError("validation", "flywheel: with SQLite, `tx` must be a bun:sqlite Database inside db.transaction()");
}

function findHolder(db: Database, job: JobInsertRow): InsertOutcome {
  if (job.uniqueKey !== null) {
    const row = db.query("SELECT id FROM jobs WHERE unique_key = ?").get(job.uniqueKey) as Row | null;
    if (row) return { inserted: false, id: row.id, key: "unique_key", value: job.uniqueKey };
  }
  if (job.uniqueActiveKey !== null) {
    const row = db
      .query(`SELECT id FROM jobs WHERE unique_active_key = ? AND state NOT IN (${TERMINAL_SQL})`)
      .get(job.uniqueActiveKey) as Row | null;
    if (row) return { inserted: false, id: row.id, key: "unique_active_key", value: job.uniqueActiveKey };
  }
  throw new FlywheelError("conflict", `flywheel: job ${job.id} was not inserted: its id is taken (and no unique key holder was found)`);
}
