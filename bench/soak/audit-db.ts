/**
 * The soak driver's own window on the database: plain SQL on a connection of its own (bun:sqlite or
 * postgres.js), never through flywheel, so what it checks is what is stored, not what the library reports.
 * Queries are written once; the few expressions the dialects spell differently come from {@link AuditDb}.
 */
import { Database } from "bun:sqlite";
import postgres from "postgres";

/** A read connection plus the dialect's spelling of what the checks need. */
export interface AuditDb {
  readonly dialect: "sqlite" | "postgres";
  /** Qualified table names. */
  readonly jobs: string;
  readonly runs: string;
  /** A job's soak index (`args.n`) as an integer; null for shell jobs. */
  argN(args: string): string;
  /** A shell job's log path (`args.env.LOG`). */
  shellLog(args: string): string;
  /** The pid a command run recorded in its output. */
  outputPid(output: string): string;
  /** A timestamp column as epoch milliseconds. */
  ms(column: string): string;
  /** A timestamp later than any real one (for runs that never finished). */
  readonly infinity: string;
  /** Runs a query and returns every row. */
  rows<T>(sql: string): Promise<T[]>;
  /** Runs a query and hands each row to `fn` without holding them all in memory. */
  each<T>(sql: string, fn: (row: T) => void): Promise<void>;
  close(): Promise<void>;
}

/** Opens the soak's SQLite file for reading. */
export function sqliteAudit(path: string): AuditDb {
  const db = new Database(path);
  // Nodes hold write locks in bursts; a read here may wait for a checkpoint's lock.
  db.run("PRAGMA busy_timeout = 10000");
  return {
    dialect: "sqlite",
    jobs: "jobs",
    runs: "job_runs",
    argN: (args) => `json_extract(${args}, '$.n')`,
    shellLog: (args) => `json_extract(${args}, '$.env.LOG')`,
    outputPid: (output) => `json_extract(${output}, '$.pid')`,
    ms: (column) => column,
    infinity: "9e15",
    rows: async <T>(sql: string) => db.query(sql).all() as T[],
    async each<T>(sql: string, fn: (row: T) => void) {
      for (const row of db.query(sql).iterate()) fn(row as T);
    },
    close: async () => db.close(),
  };
}

/** Connects to the soak's PostgreSQL database; flywheel's tables are in schema `flywheel`. */
export function postgresAudit(url: string): AuditDb {
  // One connection is enough; postgres.js reconnects by itself after a server restart.
  const sql = postgres(url, { max: 1, onnotice: () => {}, idle_timeout: 30 });
  return {
    dialect: "postgres",
    jobs: "flywheel.jobs",
    runs: "flywheel.job_runs",
    argN: (args) => `(${args}->>'n')::int`,
    shellLog: (args) => `${args}->'env'->>'LOG'`,
    outputPid: (output) => `(${output}->>'pid')::int`,
    ms: (column) => `(extract(epoch from ${column}) * 1000)::float8`,
    infinity: "'infinity'::timestamptz",
    rows: async <T>(text: string) => (await sql.unsafe(text)) as unknown as T[],
    async each<T>(text: string, fn: (row: T) => void) {
      await sql.unsafe(text).cursor(10_000, (rows) => {
        for (const row of rows) fn(row as T);
      });
    },
    close: () => sql.end({ timeout: 5 }),
  };
}

/** Jobs not yet terminal: waiting (claimable or backing off) and running. Both counts walk a partial index. */
export async function openJobs(db: AuditDb): Promise<{ waiting: number; running: number }> {
  const [row] = await db.rows<{ waiting: number; running: number }>(
    `SELECT (SELECT count(*) FROM ${db.jobs} WHERE state IN ('available','scheduled','retryable') AND deleted_at IS NULL) AS waiting,
            (SELECT count(*) FROM ${db.jobs} WHERE state = 'running') AS running`,
  );
  return { waiting: Number(row!.waiting), running: Number(row!.running) };
}
