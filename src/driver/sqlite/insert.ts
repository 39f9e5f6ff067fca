import { Database, type SQLQueryBindings } from "bun:sqlite";
import { FlywheelError } from "../../core/errors.ts";
import type { Row } from "../decode.ts";
import { TERMINAL_SQL } from "../sql.ts";
import type { InsertOutcome, JobInsertRow } from "../types.ts";
import { immediate } from "./connection.ts";

/** SQLite's bound-parameter ceiling is 32,766; 18 columns a row keeps a chunk well below it. */
const INSERT_CHUNK = 1000;
const JOB_COLUMNS =
  "id, kind, queue, args, priority, state, max_attempts, timeout_ms, scheduled_at, unique_key, unique_active_key, parent_job_id, root_job_id, executor_class, tags, metadata, created_at, updated_at";
const JOB_PLACEHOLDERS = `(${Array(18).fill("?").join(",")})`;

/**
 * Inserts `jobs` in chunked multi-row statements on `db`, inside whatever transaction is open on it; unique
 * collisions are skipped and reported with the holder's id, in input order.
 */
export function insertJobs(db: Database, jobs: JobInsertRow[]): InsertOutcome[] {
  const inserted = new Set<string>();
  for (let start = 0; start < jobs.length; start += INSERT_CHUNK) {
    const chunk = jobs.slice(start, start + INSERT_CHUNK);
    const sql = `INSERT INTO jobs (${JOB_COLUMNS}) VALUES ${Array(chunk.length).fill(JOB_PLACEHOLDERS).join(",")} ON CONFLICT DO NOTHING RETURNING id`;
    const params: SQLQueryBindings[] = [];
    for (const j of chunk) {
      const created = j.createdAt.getTime();
      params.push(
        j.id,
        j.kind,
        j.queue,
        j.argsJson,
        j.priority,
        j.state,
        j.maxAttempts,
        j.timeoutMs,
        j.scheduledAt.getTime(),
        j.uniqueKey,
        j.uniqueActiveKey,
        j.parentJobId,
        j.rootJobId,
        j.executorClass,
        JSON.stringify(j.tags),
        JSON.stringify(j.metadata),
        created,
        created,
      );
    }
    for (const row of db.query(sql).all(...params) as Row[]) inserted.add(row.id);
  }
  return jobs.map((job) => (inserted.has(job.id) ? { inserted: true, id: job.id } : findHolder(db, job)));
}

/**
 * {@link insertJobs} as one unit: a batch of several chunks commits together, in its own `BEGIN IMMEDIATE`
 * transaction unless one is already open on `db` (the caller's, for an outbox insert).
 */
export function insertJobBatch(db: Database, jobs: JobInsertRow[]): InsertOutcome[] {
  return jobs.length > INSERT_CHUNK && !db.inTransaction ? immediate(db, () => insertJobs(db, jobs)) : insertJobs(db, jobs);
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
