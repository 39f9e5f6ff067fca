/**
 * A flywheel table as a node that has run for a week looks: `n` jobs over 12 kinds and 4 queues, mostly finished,
 * with a backlog, some failures and a few in flight, plus the audit rows of the failures, of the running jobs and
 * of every tenth success. Written with one set-based statement per table (a million jobs in seconds), straight
 * into flywheel's schema, after `migrate()`.
 */
import { Database } from "bun:sqlite";
import postgres from "postgres";

/** Where the jobs go: a SQLite file, or a PostgreSQL schema. */
export type FillTarget = { dialect: "sqlite"; file: string } | { dialect: "postgres"; pgUrl: string; schema: string };

/** The kinds the fill spreads jobs over: `kind_0` … `kind_11`. */
export const FILL_KINDS = Array.from({ length: 12 }, (_, i) => `kind_${i}`);
/** The queues, by `(x / 7) % 4`. */
export const FILL_QUEUES = ["default", "emails", "reports", "periodic"];

/**
 * The state mix, per mille of jobs (`(x · 37) mod 1000` picks the bucket, so the states interleave with the kinds
 * and queues instead of following them): a week's history is mostly successes.
 */
export const FILL_MIX: Array<[state: string, perMille: number]> = [
  ["succeeded", 930],
  ["discarded", 10],
  ["cancelled", 5],
  ["available", 30],
  ["scheduled", 20],
  ["retryable", 3],
  ["running", 1],
  ["waiting", 1],
];

/** `CASE` over the bucket `b`, spelled the same in both dialects. */
function stateCase(): string {
  let upTo = 0;
  const arms = FILL_MIX.slice(0, -1).map(([state, perMille]) => `WHEN b < ${(upTo += perMille)} THEN '${state}'`);
  return `CASE ${arms.join(" ")} ELSE '${FILL_MIX.at(-1)![0]}' END`;
}

const QUEUE_CASE = `CASE (x / 7) % 4 ${FILL_QUEUES.map((q, i) => `WHEN ${i} THEN '${q}'`).join(" ")} END`;
const WEEK_MS = 7 * 86_400_000;

/**
 * Inserts `n` jobs created over the past week (oldest first, ids in creation order like UUIDv7) and their
 * runs; returns how many runs it wrote. PostgreSQL is then `VACUUM ANALYZE`d, as autovacuum would have left a
 * week-old table; SQLite gets no `ANALYZE` (flywheel never runs it).
 */
export async function fillJobs(target: FillTarget, n: number, now = Date.now()): Promise<{ runs: number }> {
  const step = WEEK_MS / n;
  if (target.dialect === "sqlite") {
    const db = new Database(target.file);
    try {
      db.run("PRAGMA busy_timeout = 5000");
      db.run(
        `INSERT INTO jobs (id, kind, queue, args, priority, state, attempt, max_attempts, scheduled_at, leased_until, lease_token,
           executor_class, tags, metadata, created_at, updated_at, finalized_at, wait_reason)
         WITH RECURSIVE s(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM s WHERE x + 1 < ?1),
         g AS (SELECT x, CAST(?2 - (?1 - x) * ?3 AS INTEGER) AS c, (x * 37) % 1000 AS b FROM s),
         h AS (SELECT x, c, ${stateCase()} AS st FROM g)
         SELECT printf('00000000-0000-7000-8000-%012d', x), 'kind_' || (x % 12), ${QUEUE_CASE}, '{"i":' || x || '}', 100, st,
           CASE WHEN st IN ('succeeded', 'running', 'retryable') THEN 1 WHEN st = 'discarded' THEN 3 ELSE 0 END, 3,
           CASE st WHEN 'scheduled' THEN ?2 + 60000 + (x % 3600) * 1000 WHEN 'waiting' THEN ?2 + 86400000 ELSE c END,
           CASE st WHEN 'running' THEN ?2 + 30000 END, CASE st WHEN 'running' THEN 'bench-lease' END,
           '', '[]', '{}', c, c + 1000, CASE WHEN st IN ('succeeded', 'discarded', 'cancelled') THEN c + 1000 END,
           CASE st WHEN 'waiting' THEN 'event' END
         FROM h`,
        [n, now, step],
      );
      const runs = db.run(
        `INSERT INTO job_runs (id, job_id, attempt, executor_class, executor_id, started_at, finished_at, outcome, error_class,
           error_message, duration_ms, created_at)
         SELECT 'run-' || id, id, attempt, '', 'bench', created_at, finalized_at,
           CASE state WHEN 'discarded' THEN 'error' WHEN 'running' THEN 'started' ELSE 'success' END,
           CASE state WHEN 'discarded' THEN 'transient' END, CASE state WHEN 'discarded' THEN 'Error: upstream answered 503' END,
           CASE WHEN state <> 'running' THEN 1000 END, created_at
         FROM jobs WHERE state IN ('discarded', 'running') OR (state = 'succeeded' AND CAST(substr(id, 25) AS INTEGER) % 10 = 0)`,
      );
      return { runs: runs.changes };
    } finally {
      db.close(false);
    }
  }
  const sql = postgres(target.pgUrl, { max: 1, onnotice: () => {}, connection: { search_path: target.schema } });
  try {
    const at = (ms: string) => `to_timestamp((${ms})::float8 / 1000)`;
    await sql.unsafe(
      `INSERT INTO jobs (id, kind, queue, args, priority, state, attempt, max_attempts, scheduled_at, leased_until, lease_token,
         executor_class, tags, metadata, created_at, updated_at, finalized_at, wait_reason)
       SELECT '00000000-0000-7000-8000-' || lpad(x::text, 12, '0'), 'kind_' || (x % 12), ${QUEUE_CASE}, jsonb_build_object('i', x), 100, st,
         CASE WHEN st IN ('succeeded', 'running', 'retryable') THEN 1 WHEN st = 'discarded' THEN 3 ELSE 0 END, 3,
         ${at(`CASE st WHEN 'scheduled' THEN $2::bigint + 60000 + (x % 3600) * 1000 WHEN 'waiting' THEN $2::bigint + 86400000 ELSE c END`)},
         CASE st WHEN 'running' THEN ${at("$2::bigint + 30000")} END, CASE st WHEN 'running' THEN 'bench-lease' END,
         '', '[]', '{}', ${at("c")}, ${at("c + 1000")}, CASE WHEN st IN ('succeeded', 'discarded', 'cancelled') THEN ${at("c + 1000")} END,
         CASE st WHEN 'waiting' THEN 'event' END
       FROM (SELECT x, c, ${stateCase()} AS st
             FROM (SELECT x, ($2::bigint - ($1::int - x) * $3::float8)::bigint AS c, (x * 37) % 1000 AS b FROM generate_series(0, $1::int - 1) x) g) h`,
      [n, now, step],
    );
    const runs = await sql.unsafe(
      `INSERT INTO job_runs (id, job_id, attempt, executor_class, executor_id, started_at, finished_at, outcome, error_class,
         error_message, duration_ms, created_at)
       SELECT 'run-' || id, id, attempt, '', 'bench', created_at, finalized_at,
         CASE state WHEN 'discarded' THEN 'error' WHEN 'running' THEN 'started' ELSE 'success' END,
         CASE state WHEN 'discarded' THEN 'transient' END, CASE state WHEN 'discarded' THEN 'Error: upstream answered 503' END,
         CASE WHEN state <> 'running' THEN 1000 END, created_at
       FROM jobs WHERE state IN ('discarded', 'running') OR (state = 'succeeded' AND substr(id, 25)::bigint % 10 = 0)`,
    );
    await sql.unsafe("VACUUM ANALYZE jobs");
    await sql.unsafe("VACUUM ANALYZE job_runs");
    return { runs: runs.count };
  } finally {
    await sql.end({ timeout: 5 });
  }
}
