import postgres from "postgres";
import { FlywheelError, ValidationError } from "../../core/errors.ts";
import { newId } from "../../core/id.ts";
import { JOB_STATES, type JobRecord, type JobState, type PeriodicRecord, type RunRecord } from "../../core/types.ts";
import type {
  ClaimParams,
  ClaimedJob,
  Driver,
  FinalizeItem,
  FinalizeOutcome,
  InsertOutcome,
  JobInsertRow,
  JobListParams,
  LeaseRef,
  PeriodicFireParams,
  PeriodicSaveRow,
  QueueStats,
} from "../types.ts";
import { rowDecoders, type Row } from "../decode.ts";
import { CLAIMABLE_SQL, TERMINAL_SQL, failedIndexHint, schemaTooNew } from "../sql.ts";
import init from "./0001_init.sql" with { type: "text" };
import leanStateIndex from "./0002_lean_state_index.sql" with { type: "text" };

/** Migrations in order; the array index + 1 is the version. Embedded as text so the compiled binary carries them. */
const MIGRATIONS: readonly string[] = [init, leanStateIndex];

/** The schema flywheel's tables live in when none is configured. */
export const DEFAULT_SCHEMA = "flywheel";

/**
 * A postgres.js handle a statement can run on: the pool, a reserved connection, or the caller's open
 * transaction. postgres.js does not make `TransactionSql` assignable to `Sql`, so this union is the type to
 * accept for the outbox `tx`.
 */
export type PostgresExecutor = postgres.Sql<any> | postgres.TransactionSql<any>;

/**
 * Options for {@link PostgresDriver}. `{}` means: schema `flywheel`; when the driver opens the pool itself,
 * 10 connections, idle connections closed after 60 s, connections recycled after 30 min, 10 s connect timeout.
 */
export interface PostgresDriverOptions {
  /** Schema holding flywheel's tables; a plain identifier of at most 58 characters (default `flywheel`). */
  schema?: string;
  /** End the pool on `close()`; true when the driver opened it. */
  ownsSql?: boolean;
  /**
   * Pool size when {@link PostgresDriver.open} creates the pool (default 10; a handle passed to the
   * constructor keeps its own). Per node, at most these statements run at once: one claim and one lease
   * renewal per runner, one finalize batch, and up to four scheduler statements (tick, sweep, retention,
   * health), plus reads such as `/metrics`. 10 serves a node of up to three runners without queueing; beyond
   * that use about 2 × runners + 5. A statement that finds the pool busy waits for a connection, it does not
   * fail. `LISTEN` uses one more connection, outside the pool.
   */
  max?: number;
}

const ACTIVE_SQL = "'available','scheduled','running','retryable'";
/** `jobs_ready`'s predicate, repeated verbatim so the planner can match the partial index. */
const READY_PREDICATE = `state IN (${CLAIMABLE_SQL}) AND deleted_at IS NULL`;
/** Room for the `_jobs` suffix of the notification channel inside PostgreSQL's 63-byte identifier limit. */
const MAX_SCHEMA_LENGTH = 58;
/** Wait before retrying a `LISTEN` that failed. */
const LISTEN_RETRY_MS = 5_000;
/** Attempts at inserting rows whose unique key holder vanished between the insert and the holder lookup. */
const INSERT_TRIES = 3;

/** An SQL text with its positional parameters, ready for `unsafe`. */
export interface SqlStatement {
  text: string;
  params: any[];
}

/**
 * The PostgreSQL implementation of {@link Driver}, on postgres.js. Tables live in their own schema; claims use
 * `FOR UPDATE SKIP LOCKED` over the `jobs_ready` index; inserts `NOTIFY` the channel `<schema>_jobs` in the same
 * statement, so listeners wake when (and only if) the inserting transaction commits.
 *
 * Statement texts carry the (validated, quoted) schema and depend only on the shape of a call, so they run as
 * prepared statements, unless the pool was opened with `prepare: false` (PgBouncer in transaction mode). The
 * job path (claim, renew, finalize, sweep, insert) is one statement per call, atomic without `BEGIN`.
 * Time always comes from the caller's `now`, never from the database clock.
 *
 * @example
 * const driver = PostgresDriver.open("postgres://app@db/app?schema=jobs", { max: 10 });
 * await driver.migrate();
 */
export class PostgresDriver implements Driver {
  readonly dialect = "postgres" as const;
  /** The pool every statement without a caller's `tx` runs on. */
  readonly sql: postgres.Sql<any>;
  /** The schema holding flywheel's tables. */
  readonly schema: string;
  /** The `LISTEN` channel inserts notify: `<schema>_jobs`. */
  readonly channel: string;
  readonly #ownsSql: boolean;
  readonly #prepare: boolean;
  readonly #t: { jobs: string; runs: string; periodics: string; migrations: string };
  readonly #listeners = new Set<() => void>();
  #listening: Promise<postgres.ListenMeta | null> | null = null;
  #closed = false;
  /** Rows this driver has added to `jobs` (inserted) and to `job_runs` (claimed): how far the tables grew under its cached plans. */
  #grown = { jobs: 0, runs: 0 };

  /** Wraps an open postgres.js pool; `close()` ends it only with `ownsSql`. Does not touch the database. */
  constructor(sql: postgres.Sql<any>, options: PostgresDriverOptions = {}) {
    const schema = options.schema ?? DEFAULT_SCHEMA;
    assertSchemaName(schema);
    // Our decoders read snake_case columns and postgres.js's default parsers; a camelCase transform would rename them.
    if (sql.options?.transform?.column?.from) {
      throw new FlywheelError(
        "config_invalid",
        "flywheel: the postgres.js handle transforms column names; give flywheel its own postgres() handle without `transform`",
      );
    }
    this.sql = sql;
    this.schema = schema;
    this.channel = `${schema}_jobs`;
    this.#ownsSql = options.ownsSql ?? false;
    this.#prepare = sql.options?.prepare !== false;
    const q = quoteIdent(schema);
    this.#t = { jobs: `${q}.jobs`, runs: `${q}.job_runs`, periodics: `${q}.job_periodics`, migrations: `${q}.flywheel_migrations` };
  }

  /**
   * Opens a pool on `url`. A `?schema=` query parameter names flywheel's schema (it is removed before the URL
   * reaches postgres.js, which would send it to the server as a setting); `options.schema` may name it instead,
   * but not differently. Other query parameters (`sslmode`, `application_name`, …) pass through.
   */
  static open(url: string, options: { schema?: string; max?: number } = {}): PostgresDriver {
    const { url: cleanUrl, schema: urlSchema } = splitSchemaParam(url);
    if (urlSchema !== undefined && options.schema !== undefined && urlSchema !== options.schema) {
      throw new FlywheelError(
        "config_invalid",
        `flywheel: the database URL names schema ${JSON.stringify(urlSchema)} but the schema option is ${JSON.stringify(options.schema)}`,
      );
    }
    const schema = options.schema ?? urlSchema ?? DEFAULT_SCHEMA;
    assertSchemaName(schema);
    const sql = postgres(cleanUrl, {
      max: options.max ?? 10,
      idle_timeout: 60,
      max_lifetime: 30 * 60,
      connect_timeout: 10,
      // NOTICEs (e.g. "schema already exists, skipping" from migrate) are not ours to print.
      onnotice: () => {},
      connection: { application_name: "flywheel" },
    });
    return new PostgresDriver(sql, { schema, ownsSql: true, max: options.max });
  }

  async migrate(): Promise<{ applied: number[] }> {
    const schema = quoteIdent(this.schema);
    return this.#begin(async (tx) => {
      // Serializes concurrent migrators (several nodes starting at once): CREATE ... IF NOT EXISTS alone races.
      await tx.unsafe("SELECT pg_advisory_xact_lock(hashtext($1))", [`flywheel.migrate:${this.schema}`]);
      await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await tx.unsafe(
        `CREATE TABLE IF NOT EXISTS ${this.#t.migrations} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)`,
      );
      const [row] = await tx.unsafe(`SELECT coalesce(max(version), 0)::int AS v FROM ${this.#t.migrations}`);
      const current = row!.v as number;
      if (current > MIGRATIONS.length) throw schemaTooNew(current, MIGRATIONS.length);
      const applied: number[] = [];
      // The migration files use unqualified names; search_path puts them in our schema for this transaction only.
      await tx.unsafe(`SET LOCAL search_path TO ${schema}`);
      for (let v = current + 1; v <= MIGRATIONS.length; v++) {
        await tx.unsafe(MIGRATIONS[v - 1]!);
        await tx.unsafe(`INSERT INTO ${this.#t.migrations} (version, applied_at) VALUES ($1, $2)`, [v, new Date()]);
        applied.push(v);
      }
      return { applied };
    });
  }

  async schemaVersion(): Promise<{ current: number; latest: number }> {
    const [exists] = await this.#q(`SELECT to_regclass($1) IS NOT NULL AS ok`, [this.#t.migrations]);
    if (!exists!.ok) return { current: 0, latest: MIGRATIONS.length };
    const [row] = await this.#q(`SELECT coalesce(max(version), 0)::int AS v FROM ${this.#t.migrations}`);
    return { current: row!.v, latest: MIGRATIONS.length };
  }

  async ping(): Promise<void> {
    this.#assertOpen();
    await this.#q("SELECT 1");
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    const listening = this.#listening;
    this.#listening = null;
    if (listening) await (await listening.catch(() => null))?.unlisten().catch(() => {});
    if (this.#ownsSql) await this.sql.end({ timeout: 5 });
  }

  async jobInsert(p: { jobs: JobInsertRow[]; tx?: unknown }): Promise<InsertOutcome[]> {
    if (p.jobs.length === 0) return [];
    return this.#insertJobs(p.tx === undefined ? this.sql : asExecutor(p.tx), p.jobs);
  }

  /**
   * The claim as one statement: pick (index walk under `FOR UPDATE SKIP LOCKED`), lease, and write the `started`
   * run stubs, committed together. Exposed for the plan tests; {@link jobClaim} runs exactly this.
   */
  claimStatement(p: ClaimParams): SqlStatement {
    const ps = new Params();
    const claim = this.#claimSql(ps, p);
    return { text: `${claim.with} ${claim.ctes} ${claim.select}`, params: ps.values };
  }

  /**
   * The claim's parts: `with` (`WITH` or `WITH RECURSIVE`), its CTEs, and the `SELECT` of the claimed rows (each
   * job's columns, `run_id`, and `rn`, the claim order), binding into `ps` so another statement can embed them.
   */
  #claimSql(ps: Params, p: ClaimParams): { with: string; ctes: string; select: string } {
    // The limit is spelled into the text, not bound: planning a reused prepared statement without its value
    // (the generic plan PostgreSQL switches to after five runs) guesses a large LIMIT and then hash-joins the
    // update against a sequential scan of jobs. One statement per limit value (1…concurrency) is cheap.
    const limit = Math.max(1, Math.trunc(p.limit));
    const now = `${ps.add(p.now)}::timestamptz`;
    const filters = [READY_PREDICATE, `scheduled_at <= ${now}`];
    if (p.executorClasses) filters.push(`executor_class = ANY(${ps.add(p.executorClasses)}::text[])`);
    if (p.ids) filters.push(`id = ANY(${ps.add(p.ids)}::text[])`);
    const order = "ORDER BY priority, scheduled_at, id";
    const pick = (extra: string) =>
      `SELECT id, priority, scheduled_at FROM ${this.#t.jobs} WHERE ${[...filters, extra].filter(Boolean).join(" AND ")} ${order} LIMIT ${limit} FOR UPDATE SKIP LOCKED`;

    let recursive = false;
    let picked: string;
    if (p.ids || (p.queues && p.queues.length === 1)) {
      // One queue is a straight walk of jobs_ready. With explicit ids the primary key finds them; order is moot.
      const queue = p.queues ? (p.queues.length === 1 ? `queue = ${ps.add(p.queues[0])}::text` : `queue = ANY(${ps.add(p.queues)}::text[])`) : "";
      picked = pick(queue);
    } else {
      // Several queues: walk jobs_ready once per queue (each walk already ordered and limited), then merge the
      // few candidates. `queue = ANY(...)` instead would read every ready row of those queues and sort them.
      // The candidates the merge drops stay locked until this statement commits; other claimers skip them.
      let queues: string;
      if (p.queues) {
        queues = `unnest(${ps.add(p.queues)}::text[]) AS q(name)`;
      } else {
        // Every queue: a loose index scan lists the distinct queues that have ready rows, one index probe each.
        recursive = true;
        queues = "(SELECT name FROM ready_queues WHERE name IS NOT NULL) AS q";
      }
      picked =
        `SELECT c.id FROM ${queues} CROSS JOIN LATERAL (${pick("queue = q.name")}) c ` +
        `ORDER BY c.priority, c.scheduled_at, c.id LIMIT ${limit}`;
    }
    // Unqualified columns in the recursive step resolve to `j`, the innermost FROM.
    const readyQueues = recursive
      ? `ready_queues(name) AS (
           (SELECT queue FROM ${this.#t.jobs} WHERE ${READY_PREDICATE} ORDER BY queue LIMIT 1)
           UNION ALL
           SELECT (SELECT queue FROM ${this.#t.jobs} j WHERE ${READY_PREDICATE} AND queue > r.name ORDER BY queue LIMIT 1)
           FROM ready_queues r WHERE r.name IS NOT NULL
         ),`
      : "";
    const ctes = `${readyQueues}
      picked AS (${picked}),
      claimed AS (
        UPDATE ${this.#t.jobs} j SET state = 'running', attempt = j.attempt + 1, leased_until = ${ps.add(p.leasedUntil)}::timestamptz,
          lease_token = ${ps.add(p.leaseToken)}::text, updated_at = ${now}
        FROM picked WHERE j.id = picked.id
        RETURNING j.*
      ),
      numbered AS (SELECT c.*, (row_number() OVER (ORDER BY c.priority, c.scheduled_at, c.id))::int AS rn FROM claimed c),
      stubs AS (
        INSERT INTO ${this.#t.runs} (id, job_id, attempt, executor_class, executor_id, started_at, outcome, created_at)
        SELECT (${ps.add(Array.from({ length: limit }, newId))}::text[])[n.rn], n.id, n.attempt, n.executor_class,
          ${ps.add(p.executorId)}::text, ${now}, 'started', ${now} FROM numbered n
        RETURNING id, job_id
      )`;
    const select = "SELECT n.*, stubs.id AS run_id FROM numbered n JOIN stubs ON stubs.job_id = n.id ORDER BY n.rn";
    return { with: recursive ? "WITH RECURSIVE" : "WITH", ctes, select };
  }

  /**
   * `EXPLAIN` of the claim statement for `p`; nothing is claimed. `generic: true` shows the generic plan that
   * PostgreSQL may switch a prepared statement to after five executions, planned without the parameter values.
   * Returns the text plan, or with `format: "json"` the JSON plan.
   */
  async explainClaim(p: ClaimParams, options: { generic?: boolean; format?: "text" | "json" } = {}): Promise<string> {
    const { text, params } = this.claimStatement(p);
    const format = options.format === "json" ? "FORMAT JSON" : "FORMAT TEXT";
    return this.#begin(async (tx) => {
      let rows: Row[];
      if (options.generic) {
        // EXPLAIN of a statement with bound parameters plans it for those values; only EXPLAIN EXECUTE of a
        // prepared statement under force_generic_plan shows the plan that ignores them.
        const name = `flywheel_explain_${newId().replaceAll("-", "")}`;
        await tx.unsafe(`PREPARE ${name} AS ${text}`);
        await tx.unsafe("SET LOCAL plan_cache_mode = force_generic_plan");
        // A utility statement's bind parameters get no types from the statement they feed, so the arguments go
        // in as literals (the claim's parameters are dates, numbers, strings and string arrays only).
        const args = params.map(sqlLiteral).join(", ");
        rows = await tx.unsafe(`EXPLAIN (COSTS OFF, ${format}) EXECUTE ${name}(${args})`);
        await tx.unsafe(`DEALLOCATE ${name}`);
      } else {
        rows = await tx.unsafe(`EXPLAIN (COSTS OFF, ${format}) ${text}`, params);
      }
      return options.format === "json" ? JSON.stringify(rows[0]!["QUERY PLAN"]) : rows.map((r) => r["QUERY PLAN"] as string).join("\n");
    });
  }

  async jobClaim(p: ClaimParams): Promise<ClaimedJob[]> {
    if (p.limit <= 0) return [];
    const { text, params } = this.claimStatement(p);
    const rows = await this.#q(text, params, { growing: true });
    this.#grown.runs += rows.length;
    return rows.map((row) => ({ ...decode.job(row), runId: row.run_id as string, startedAt: p.now }));
  }

  async leaseRenew(p: { leases: LeaseRef[]; leasedUntil: Date; now: Date }): Promise<Set<string>> {
    if (p.leases.length === 0) return new Set();
    const rows = await this.#q(
      `UPDATE ${this.#t.jobs} j SET leased_until = GREATEST(j.leased_until, $1), updated_at = $2
       FROM unnest($3::text[], $4::text[]) AS v(id, token)
       WHERE j.id = ANY($3::text[]) AND j.id = v.id AND j.lease_token = v.token AND j.state = 'running'
       RETURNING j.id`,
      [p.leasedUntil, p.now, p.leases.map((l) => l.jobId), p.leases.map((l) => l.leaseToken)],
      { growing: true },
    );
    return new Set(rows.map((r) => r.id as string));
  }

  /**
   * One statement, so one round trip and atomic without an explicit transaction: advance the jobs whose lease
   * token still matches, insert the follow-ups of those (and only those), record every run, and notify for
   * work that became runnable now. Statements outside a transaction also sidestep a postgres.js defect: when a
   * connection dies inside `sql.begin`, its ROLLBACK is written to the dead socket from a timer and throws an
   * uncaught TypeError (see test/postgres/outage.pg.test.ts).
   */
  async jobFinalize(p: { items: FinalizeItem[]; now: Date }): Promise<FinalizeOutcome[]> {
    if (p.items.length === 0) return [];
    const ps = new Params();
    const fin = this.#finalizeSql(ps, p.items, p.now);
    const [row] = await this.#q(`WITH ${fin.ctes} ${fin.select}`, ps.values, { growing: true });
    return this.#finalizeResults(p.items, fin.followUps, row!);
  }

  /**
   * {@link jobFinalize} then {@link jobClaim} as one statement: one round trip and one commit for the runner's
   * steady state, where the outcomes of the jobs that just finished free the slots the claim fills. The claim
   * reads the snapshot from before the finalize, so a job this finalize makes runnable again waits for the next
   * claim.
   */
  async jobFinalizeAndClaim(p: { items: FinalizeItem[]; claim: ClaimParams }): Promise<{ outcomes: FinalizeOutcome[]; jobs: ClaimedJob[] }> {
    if (p.items.length === 0) return { outcomes: [], jobs: await this.jobClaim(p.claim) };
    if (p.claim.limit <= 0) return { outcomes: await this.jobFinalize({ items: p.items, now: p.claim.now }), jobs: [] };
    const ps = new Params();
    const fin = this.#finalizeSql(ps, p.items, p.claim.now);
    const claim = this.#claimSql(ps, p.claim);
    // One row per claimed job, or one row of NULLs when none was; the finalize's result rides on the first.
    const first = (column: string) => `CASE WHEN coalesce(c.rn, 1) = 1 THEN f.${column} END AS ${column}`;
    const rows = await this.#q(
      `${claim.with} ${fin.ctes}, ${claim.ctes}
       SELECT ${["applied", "recorded", "kids"].map(first).join(", ")}, c.*
       FROM (${fin.select}) f LEFT JOIN (${claim.select}) c ON true ORDER BY c.rn`,
      ps.values,
      { growing: true },
    );
    const outcomes = await this.#finalizeResults(p.items, fin.followUps, rows[0]!);
    const jobs = rows.filter((row) => row.id !== null).map((row) => ({ ...decode.job(row), runId: row.run_id as string, startedAt: p.claim.now }));
    this.#grown.runs += jobs.length;
    return { outcomes, jobs };
  }

  /**
   * The finalize's CTEs (`items`, `adv`, `kids`, `runs`, `woke`) and the `SELECT` of its one result row: the job
   * ids that advanced (`applied`), `[run id, outcome]` of each run recorded (`recorded`), the follow-up ids
   * inserted (`kids`); binding into `ps`.
   */
  #finalizeSql(ps: Params, items: FinalizeItem[], at: Date): { ctes: string; select: string; followUps: FollowUp[] } {
    const now = `${ps.add(at)}::timestamptz`;
    const arr = (values: unknown[], type: string) => `${ps.add(values)}::${type}[]`;
    const itemRows = `unnest(
        ${arr(items.map((i) => i.jobId), "text")}, ${arr(items.map((i) => i.leaseToken), "text")},
        ${arr(items.map((i) => i.job.state), "text")}, ${arr(items.map((i) => i.job.scheduledAt?.toISOString() ?? null), "timestamptz")},
        ${arr(items.map((i) => i.job.maxAttemptsDelta), "int")}, ${arr(items.map((i) => i.runId), "text")},
        ${arr(items.map((i) => i.run.outcome), "text")}, ${arr(items.map((i) => storableText(i.run.errorClass)), "text")},
        ${arr(items.map((i) => storableText(i.run.errorMessage)), "text")},
        ${arr(items.map((i) => (i.run.output === undefined ? null : storableJson(JSON.stringify(i.run.output)))), "text")},
        ${arr(items.map((i) => i.run.finishedAt.toISOString()), "timestamptz")},
        ${arr(items.map((i) => Math.round(i.run.durationMs)), "bigint")},
        ${arr(items.map((i) => (i.run.costMicros === null ? null : Math.round(i.run.costMicros))), "bigint")}
      ) WITH ORDINALITY AS i(job_id, token, state, scheduled_at, delta, run_id, outcome, error_class, error_message, output,
                             finished_at, duration_ms, cost_micros, ord)`;
    const followUps = items.flatMap((i) => i.followUps.map((row) => ({ row, owner: i.runId })));
    let kids = "";
    let childCount = "0";
    if (followUps.length > 0) {
      // A follow-up carries its parent item's run id (`owner`); only the items whose job advanced get theirs.
      const insert = this.#insertSql(ps, followUps.map((f) => f.row), {
        owner: followUps.map((f) => f.owner),
        // Refusing a follow-up here would fail the whole batch on every retry; store it with U+FFFD instead.
        unstorable: "replace",
        guard: "v.owner IN (SELECT items.run_id FROM items WHERE items.job_id IN (SELECT id FROM adv))",
      });
      kids = `kids AS (${insert.text}),
        kid_owner AS (SELECT * FROM unnest(${insert.ids}::text[], ${insert.owner}::text[]) AS o(id, owner)),`;
      childCount = "(SELECT count(*) FROM kids JOIN kid_owner o ON o.id = kids.id WHERE o.owner = items.run_id)";
    }
    const channel = `${ps.add(this.channel)}::text`;
    // Every join here is an index probe per item or a hashed `IN`: joining these CTEs to each other (row estimates
    // of 10 whatever the batch) planned nested loops, quadratic in the batch (110 items took 30 ms).
    const advanced = "items.job_id IN (SELECT id FROM adv)";
    const ctes = `items AS (SELECT * FROM ${itemRows}),
      adv AS (
        UPDATE ${this.#t.jobs} j SET state = items.state, scheduled_at = coalesce(items.scheduled_at, j.scheduled_at),
          max_attempts = j.max_attempts + items.delta, leased_until = NULL, lease_token = NULL, updated_at = ${now},
          finalized_at = CASE WHEN items.state IN (${TERMINAL_SQL}) THEN ${now} ELSE NULL END
        FROM items WHERE j.id = items.job_id AND j.lease_token = items.token
        RETURNING j.id, j.queue, j.state, j.scheduled_at
      ),
      ${kids}
      runs AS (
        -- A job that did not advance lost its lease: cancelled by an operator, or superseded. Runs already
        -- finalized are left alone, so retrying a finalize whose reply was lost changes nothing.
        UPDATE ${this.#t.runs} r SET
          outcome = CASE WHEN ${advanced} THEN items.outcome
                         WHEN (SELECT j.state FROM ${this.#t.jobs} j WHERE j.id = items.job_id) = 'cancelled' THEN 'cancelled'
                         ELSE 'superseded' END,
          error_class = items.error_class, error_message = items.error_message, output = items.output::jsonb,
          finished_at = items.finished_at, duration_ms = items.duration_ms, cost_micros = items.cost_micros,
          enqueued_children = CASE WHEN ${advanced} THEN ${childCount} ELSE 0 END
        FROM items WHERE r.id = items.run_id AND r.outcome IN ('started', 'crashed')
        RETURNING r.id, r.outcome
      ),
      woke AS (
        SELECT count(pg_notify(${channel}, d.queue)) AS n FROM (
          SELECT queue FROM adv WHERE state IN (${CLAIMABLE_SQL}) AND scheduled_at <= ${now}
          ${followUps.length > 0 ? "UNION SELECT queue FROM kids WHERE state = 'available'" : ""}
        ) d
      )`;
    const select = `SELECT (SELECT coalesce(array_agg(id), '{}') FROM adv) AS applied,
        (SELECT coalesce(json_agg(json_build_array(id, outcome)), '[]'::json) FROM runs) AS recorded,
        ${followUps.length > 0 ? "(SELECT coalesce(array_agg(id), '{}') FROM kids)" : "'{}'::text[]"} AS kids,
        (SELECT n FROM woke) AS woke`;
    return { ctes, select, followUps };
  }

  /** Turns the finalize's rows into outcomes: reports follow-up collisions, relabels late cancels, and answers retried items. */
  async #finalizeResults(items: FinalizeItem[], followUps: FollowUp[], row: Row): Promise<FinalizeOutcome[]> {
    const advancedJobs = new Set<string>(row.applied as string[]);
    const insertedKids = new Set<string>(row.kids as string[]);
    const applied = (item: FinalizeItem) => advancedJobs.has(item.jobId);

    // Children that collided: report who holds their key, as jobInsert does.
    const children = new Map<FinalizeItem, InsertOutcome[]>();
    const advanced = new Set(items.filter(applied).map((i) => i.runId));
    const collided = followUps.filter((f) => advanced.has(f.owner) && !insertedKids.has(f.row.id)).map((f) => f.row);
    const holders = collided.length > 0 ? await this.#resolveCollisions(this.sql, collided) : new Map<JobInsertRow, InsertOutcome>();
    for (const item of items) {
      if (!applied(item) || item.followUps.length === 0) continue;
      children.set(item, item.followUps.map((row) => (insertedKids.has(row.id) ? { inserted: true, id: row.id } : holders.get(row)!)));
    }

    const outcomes = new Map<string, FinalizeOutcome["outcome"]>(row.recorded as Array<[string, FinalizeOutcome["outcome"]]>);
    // The statement judged "cancelled or superseded" from its snapshot; a cancel that committed while it waited
    // on the job's row lock is only visible to a later statement.
    const superseded = items.filter((i) => !applied(i) && outcomes.get(i.runId) === "superseded").map((i) => i.runId);
    if (superseded.length > 0) {
      const relabelled = await this.#q(
        `UPDATE ${this.#t.runs} r SET outcome = 'cancelled' FROM ${this.#t.jobs} j
         WHERE r.id = ANY($1::text[]) AND r.outcome = 'superseded' AND j.id = r.job_id AND j.state = 'cancelled'
         RETURNING r.id`,
        [superseded],
      );
      for (const r of relabelled) outcomes.set(r.id, "cancelled");
    }
    const earlier = new Map<string, FinalizeOutcome["outcome"]>();
    const missing = items.filter((i) => !outcomes.has(i.runId)).map((i) => i.runId);
    if (missing.length > 0) {
      // Finalized by an earlier try of this very batch whose reply was lost: report what that try recorded.
      const found = await this.#q(`SELECT id, outcome FROM ${this.#t.runs} WHERE id = ANY($1::text[])`, [missing]);
      for (const r of found) earlier.set(r.id, r.outcome);
    }
    return items.map((item): FinalizeOutcome => {
      const outcome = outcomes.get(item.runId);
      if (outcome !== undefined) return { applied: applied(item), outcome, children: children.get(item) ?? [] };
      const before = earlier.get(item.runId);
      if (before === undefined) throw new FlywheelError("database", `jobs: finalize found no run ${item.runId} for job ${item.jobId}`);
      return { applied: before === item.run.outcome, outcome: before, children: [] };
    });
  }

  async sweep(p: { now: Date; limit: number }): Promise<number> {
    // SKIP LOCKED lets several nodes sweep at once, each taking a different batch; a job being finalized right
    // now is locked and skipped, and its finalize wins. The limit is literal for the reason given in claimStatement.
    const limit = Math.max(1, Math.trunc(p.limit));
    const [row] = await this.#q(
      `WITH expired AS (
         SELECT id FROM ${this.#t.jobs} WHERE state = 'running' AND leased_until < $1
         ORDER BY leased_until LIMIT ${limit} FOR UPDATE SKIP LOCKED
       ),
       swept AS (
         UPDATE ${this.#t.jobs} j SET
           state = CASE WHEN j.attempt >= j.max_attempts THEN 'discarded' ELSE 'retryable' END,
           finalized_at = CASE WHEN j.attempt >= j.max_attempts THEN $1 ELSE NULL END,
           scheduled_at = $1, leased_until = NULL, lease_token = NULL, updated_at = $1
         FROM expired WHERE j.id = expired.id
         RETURNING j.id, j.queue, j.state
       ),
       crashed AS (
         UPDATE ${this.#t.runs} r SET outcome = 'crashed', finished_at = $1,
           duration_ms = (extract(epoch FROM ($1::timestamptz - r.started_at)) * 1000)::bigint,
           error_class = 'crashed', error_message = 'lease expired: the runner stopped renewing it'
         FROM swept WHERE r.job_id = swept.id AND r.outcome = 'started'
         RETURNING r.id
       ),
       woke AS (SELECT count(pg_notify($2, d.queue)) AS n FROM (SELECT DISTINCT queue FROM swept WHERE state = 'retryable') d)
       SELECT (SELECT count(*) FROM swept)::int AS n, (SELECT count(*) FROM crashed)::int AS runs, (SELECT n FROM woke) AS woke`,
      [p.now, this.channel],
    );
    return row!.n;
  }

  async jobGet(id: string): Promise<JobRecord | null> {
    const [row] = await this.#q(`SELECT * FROM ${this.#t.jobs} WHERE id = $1`, [id]);
    return row ? decode.job(row) : null;
  }

  async jobList(p: JobListParams): Promise<JobRecord[]> {
    const where: string[] = ["deleted_at IS NULL"];
    const params: any[] = [];
    const filter = (condition: (placeholder: string) => string, value: unknown) => {
      if (value !== undefined) where.push(condition(`$${params.push(value)}`));
    };
    filter((x) => `state = ${x}`, p.state);
    filter((x) => `kind = ${x}`, p.kind);
    filter((x) => `queue = ${x}`, p.queue);
    filter((x) => `id < ${x}`, p.before);
    where.push(...failedIndexHint(p.state));
    const rows = await this.#q(
      `SELECT * FROM ${this.#t.jobs} WHERE ${where.join(" AND ")} ORDER BY id DESC LIMIT $${params.push(p.limit)}`,
      params,
    );
    return rows.map(decode.job);
  }

  async runList(jobId: string): Promise<RunRecord[]> {
    const rows = await this.#q(`SELECT * FROM ${this.#t.runs} WHERE job_id = $1 ORDER BY attempt`, [jobId]);
    return rows.map(decode.run);
  }

  async jobCancel(p: { id: string; now: Date }): Promise<JobRecord | null> {
    // `before` locks the row and reads its latest version; `upd` then changes it only if it was not terminal.
    const [row] = await this.#q(
      `WITH before AS (SELECT * FROM ${this.#t.jobs} WHERE id = $1 FOR UPDATE),
       upd AS (
         UPDATE ${this.#t.jobs} j SET state = 'cancelled', leased_until = NULL, lease_token = NULL, finalized_at = $2, updated_at = $2
         FROM before b WHERE j.id = b.id AND b.state NOT IN (${TERMINAL_SQL})
         RETURNING j.id
       )
       SELECT b.*, (SELECT count(*) FROM upd)::int AS changed FROM before b`,
      [p.id, p.now],
    );
    return row ? decode.job(row) : null;
  }

  async jobRetry(p: { id: string; now: Date }): Promise<JobRecord | null> {
    const [row] = await this.#q(
      `WITH before AS (SELECT * FROM ${this.#t.jobs} WHERE id = $1 FOR UPDATE),
       upd AS (
         UPDATE ${this.#t.jobs} j SET state = 'available', scheduled_at = $2, max_attempts = greatest(j.max_attempts, j.attempt + 1),
           finalized_at = NULL, updated_at = $2
         FROM before b WHERE j.id = b.id AND b.state <> 'running'
         RETURNING j.queue
       )
       SELECT b.*, (SELECT count(pg_notify($3, queue)) FROM upd)::int AS changed FROM before b`,
      [p.id, p.now, this.channel],
    );
    return row ? decode.job(row) : null;
  }

  async jobDeleteFinished(p: { before: Date; limit: number }): Promise<number> {
    const limit = Math.max(1, Math.trunc(p.limit));
    const [row] = await this.#q(
      `WITH doomed AS (
         SELECT id FROM ${this.#t.jobs}
         WHERE finalized_at IS NOT NULL AND finalized_at < $1 AND state IN (${TERMINAL_SQL})
         ORDER BY finalized_at LIMIT ${limit} FOR UPDATE SKIP LOCKED
       ),
       runs AS (DELETE FROM ${this.#t.runs} WHERE job_id IN (SELECT id FROM doomed)),
       gone AS (DELETE FROM ${this.#t.jobs} WHERE id IN (SELECT id FROM doomed) RETURNING id)
       SELECT count(*)::int AS n FROM gone`,
      [p.before],
    );
    return row!.n;
  }

  async jobOverview(p: { kind?: string }): Promise<Array<{ kind: string; state: JobState; count: number }>> {
    const rows = await this.#q(
      `SELECT kind, state, count(*)::int AS count FROM ${this.#t.jobs}
       WHERE deleted_at IS NULL ${p.kind !== undefined ? "AND kind = $1" : ""}
       GROUP BY kind, state ORDER BY kind COLLATE "C", state COLLATE "C"`,
      p.kind !== undefined ? [p.kind] : [],
    );
    return rows.map((r) => ({ kind: r.kind, state: r.state, count: r.count }));
  }

  async queueStats(p: { now: Date; queues?: string[] }): Promise<QueueStats> {
    // One statement, so the counts and the ready figures come from one snapshot.
    const rows = await this.#q(
      `SELECT state, count(*)::int AS n,
         count(*) FILTER (WHERE ${READY_PREDICATE} AND scheduled_at <= $1)::int AS ready,
         min(scheduled_at) FILTER (WHERE ${READY_PREDICATE} AND scheduled_at <= $1) AS oldest,
         count(*) FILTER (WHERE ${READY_PREDICATE} AND scheduled_at > $1)::int AS ahead
       FROM ${this.#t.jobs} WHERE deleted_at IS NULL${p.queues ? " AND queue = ANY($2::text[])" : ""} GROUP BY state`,
      p.queues ? [p.now, p.queues] : [p.now],
    );
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    let ready = 0;
    let scheduledAhead = 0;
    let oldestReadyAt: Date | null = null;
    for (const row of rows) {
      counts[row.state as JobState] = row.n;
      ready += row.ready;
      scheduledAhead += row.ahead;
      if (row.oldest && (oldestReadyAt === null || row.oldest < oldestReadyAt)) oldestReadyAt = row.oldest;
    }
    return { counts, ready, scheduledAhead, oldestReadyAt };
  }

  async recentFailures(p: { since: Date; limit: number }) {
    const rows = await this.#q(
      `SELECT j.id AS job_id, j.kind, j.queue, j.attempt, j.finalized_at, r.error_class, r.error_message
       FROM ${this.#t.jobs} j LEFT JOIN ${this.#t.runs} r ON r.job_id = j.id AND r.attempt = j.attempt
       WHERE j.state = 'discarded' AND j.finalized_at >= $1 ORDER BY j.finalized_at DESC LIMIT $2`,
      [p.since, p.limit],
    );
    return rows.map((r) => ({
      jobId: r.job_id as string,
      kind: r.kind as string,
      queue: r.queue as string,
      attempt: r.attempt as number,
      finalizedAt: (r.finalized_at as Date | null) ?? null,
      errorClass: (r.error_class as string | null) ?? null,
      errorMessage: (r.error_message as string | null) ?? null,
    }));
  }

  async periodicGet(slug: string): Promise<PeriodicRecord | null> {
    const [row] = await this.#q(`SELECT * FROM ${this.#t.periodics} WHERE slug = $1`, [slug]);
    return row ? decode.periodic(row) : null;
  }

  async periodicList(): Promise<PeriodicRecord[]> {
    return (await this.#q(`SELECT * FROM ${this.#t.periodics} ORDER BY slug COLLATE "C"`)).map(decode.periodic);
  }

  async periodicSave(p: PeriodicSaveRow): Promise<PeriodicRecord> {
    const [row] = await this.#q(
      `INSERT INTO ${this.#t.periodics} (id, slug, kind, queue, args_template, cron_expr, interval_seconds, timezone, overlap,
         catch_up, backfill, max_attempts, priority, timeout_ms, source, next_run_at, is_active, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5::text::jsonb, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18)
       ON CONFLICT (slug) DO UPDATE SET kind = excluded.kind, queue = excluded.queue, args_template = excluded.args_template,
         cron_expr = excluded.cron_expr, interval_seconds = excluded.interval_seconds, timezone = excluded.timezone,
         overlap = excluded.overlap, catch_up = excluded.catch_up, backfill = excluded.backfill,
         max_attempts = excluded.max_attempts, priority = excluded.priority, timeout_ms = excluded.timeout_ms,
         source = excluded.source, next_run_at = excluded.next_run_at, is_active = excluded.is_active,
         updated_at = excluded.updated_at
       RETURNING *`,
      [
        newId(),
        p.slug,
        p.kind,
        p.queue,
        jsonColumn(p.args ?? {}, "refuse", `periodic ${p.slug} args`),
        p.cron,
        p.intervalSeconds,
        p.timezone,
        p.overlap,
        p.catchUp,
        p.backfill,
        p.maxAttempts,
        p.priority,
        p.timeoutMs === null ? null : Math.round(p.timeoutMs),
        p.source,
        p.nextRunAt,
        p.isActive,
        p.now,
      ],
    );
    return decode.periodic(row!);
  }

  async periodicDue(p: { now: Date; limit: number }): Promise<PeriodicRecord[]> {
    const rows = await this.#q(
      `SELECT * FROM ${this.#t.periodics} WHERE is_active AND next_run_at <= $1 ORDER BY next_run_at LIMIT $2`,
      [p.now, p.limit],
    );
    return rows.map(decode.periodic);
  }

  /**
   * One statement: `cas` locks the periodic only while `next_run_at` is still the expected value (of two
   * schedulers firing the same instant, the second waits on the row lock, re-reads the advanced value and gets
   * nothing), `ins` inserts the fires only then, and `upd` advances `next_run_at` and adds the skipped fires,
   * counting as overlap every fire that collided on `unique_active_key` (its `unique_key` being free).
   */
  async periodicFire(p: PeriodicFireParams): Promise<{ fired: boolean; inserted: InsertOutcome[] }> {
    const ps = new Params();
    const now = `${ps.add(p.now)}::timestamptz`;
    const id = `${ps.add(p.id)}::text`;
    const cas = `cas AS (SELECT id FROM ${this.#t.periodics} WHERE id = ${id} AND next_run_at = ${ps.add(p.expectedNextRunAt)}::timestamptz FOR UPDATE)`;
    let ins = "ins AS (SELECT NULL::text AS id, NULL::text AS queue, NULL::text AS state WHERE false)";
    let overlapped = "0";
    if (p.jobs.length > 0) {
      const insert = this.#insertSql(ps, p.jobs, { guard: "EXISTS (SELECT 1 FROM cas)" });
      ins = `ins AS (${insert.text})`;
      overlapped = `(SELECT count(*) FROM unnest(${insert.ids}::text[], ${insert.uniqueKeys}::text[], ${insert.activeKeys}::text[]) AS f(id, uk, uak)
        WHERE f.uak IS NOT NULL AND f.id NOT IN (SELECT id FROM ins)
          AND (f.uk IS NULL OR NOT EXISTS (SELECT 1 FROM ${this.#t.jobs} j WHERE j.unique_key = f.uk)))::int`;
    }
    const skipped = `${ps.add(p.skipped)}::int`;
    const reason = `${ps.add(p.skipReason)}::text`;
    const text = `WITH ${cas}, ${ins},
      counts AS (SELECT ${overlapped} AS overlapped, EXISTS (SELECT 1 FROM ins) AS enqueued),
      upd AS (
        UPDATE ${this.#t.periodics} pe SET next_run_at = ${ps.add(p.nextRunAt)}::timestamptz, updated_at = ${now},
          skipped_count = pe.skipped_count + ${skipped} + c.overlapped,
          last_skipped_at = CASE WHEN ${skipped} + c.overlapped > 0 THEN ${now} ELSE pe.last_skipped_at END,
          last_skip_reason = CASE WHEN c.overlapped > 0 THEN 'overlap' WHEN ${skipped} > 0 THEN ${reason} ELSE pe.last_skip_reason END,
          last_enqueued_at = CASE WHEN c.enqueued THEN ${now} ELSE pe.last_enqueued_at END
        FROM cas, counts c WHERE pe.id = cas.id
        RETURNING pe.id
      ),
      woke AS (SELECT count(pg_notify(${ps.add(this.channel)}::text, d.queue)) AS n FROM (SELECT DISTINCT queue FROM ins WHERE state = 'available') d)
      SELECT (SELECT count(*) FROM upd)::int AS fired, (SELECT coalesce(array_agg(id), '{}') FROM ins) AS ids FROM woke`;
    const [row] = await this.#q(text, ps.values);
    if (row!.fired === 0) return { fired: false, inserted: [] };
    const inserted = new Set<string>(row!.ids as string[]);
    const collided = p.jobs.filter((j) => !inserted.has(j.id));
    const holders = collided.length > 0 ? await this.#resolveCollisions(this.sql, collided) : new Map<JobInsertRow, InsertOutcome>();
    return {
      fired: true,
      inserted: p.jobs.map((j) => (inserted.has(j.id) ? { inserted: true, id: j.id } : holders.get(j)!)),
    };
  }

  async periodicSetActive(p: { slug: string; active: boolean; now: Date }): Promise<boolean> {
    const rows = await this.#q(`UPDATE ${this.#t.periodics} SET is_active = $1, updated_at = $2 WHERE slug = $3 RETURNING id`, [
      p.active,
      p.now,
      p.slug,
    ]);
    return rows.length > 0;
  }

  async periodicDelete(slug: string): Promise<boolean> {
    return (await this.#q(`DELETE FROM ${this.#t.periodics} WHERE slug = $1 RETURNING id`, [slug])).length > 0;
  }

  async periodicDeactivateMissing(p: { source: string; keep: string[]; now: Date }): Promise<string[]> {
    const rows = await this.#q(
      `UPDATE ${this.#t.periodics} SET is_active = false, updated_at = $1
       WHERE source = $2 AND is_active AND slug <> ALL($3::text[]) RETURNING slug`,
      [p.now, p.source, p.keep],
    );
    return rows.map((r) => r.slug as string).sort();
  }

  /**
   * `LISTEN`s on `<schema>_jobs` while anyone is subscribed. postgres.js keeps the listening connection
   * outside the pool and re-issues `LISTEN` after it reconnects; notifications sent while it was down are
   * lost, so every (re)subscription also calls the listeners once. Runners poll as well, so a lost wake-up
   * delays work by at most one poll interval, never loses it.
   */
  isDataError(error: unknown): boolean {
    // SQLSTATE class 22 is a data exception (bad value or cast), class 23 an integrity constraint violation.
    const code = (error as { code?: unknown } | null)?.code;
    return typeof code === "string" && /^2[23][0-9A-Z]{3}$/.test(code);
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    if (!this.#listening && !this.#closed) this.#listening = this.#listen();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size > 0 || !this.#listening) return;
      const listening = this.#listening;
      this.#listening = null;
      void listening.then((meta) => meta?.unlisten()).catch(() => {});
    };
  }

  async #listen(): Promise<postgres.ListenMeta | null> {
    const wake = () => {
      for (const fn of this.#listeners) fn();
    };
    try {
      // While the server is unreachable postgres.js keeps this pending and retries; it rejects on errors such as
      // a refused login.
      return await this.sql.listen(this.channel, wake, wake);
    } catch {
      // Runners poll meanwhile; try again later while anyone still wants wake-ups.
      this.#listening = null;
      const retry = setTimeout(() => {
        if (!this.#closed && !this.#listening && this.#listeners.size > 0) this.#listening = this.#listen();
      }, LISTEN_RETRY_MS);
      retry.unref?.();
      return null;
    }
  }

  /**
   * Inserts rows in input order with one `unnest` statement (no bind-parameter ceiling, one round trip),
   * notifying `<schema>_jobs` once per queue that got runnable jobs, then matches colliding rows to the job
   * holding their key.
   */
  async #insertJobs(db: PostgresExecutor, jobs: JobInsertRow[], depth = 1): Promise<InsertOutcome[]> {
    const ps = new Params();
    const insert = jobs.length === 1 ? this.#insertOneSql(ps, jobs[0]!) : this.#insertSql(ps, jobs).text;
    const rows = await db.unsafe(
      `WITH ins AS (${insert}),
       woke AS (SELECT count(pg_notify(${ps.add(this.channel)}::text, d.queue)) AS n FROM (SELECT DISTINCT queue FROM ins WHERE state = 'available') d)
       SELECT ins.id FROM ins, woke`,
      ps.values,
      { prepare: this.#prepare },
    );
    const inserted = new Set<string>(rows.map((r: Row) => r.id as string));
    this.#grown.jobs += inserted.size;
    const collided = jobs.filter((j) => !inserted.has(j.id));
    const holders = collided.length > 0 ? await this.#resolveCollisions(db, collided, depth) : new Map<JobInsertRow, InsertOutcome>();
    return jobs.map((job) => (inserted.has(job.id) ? { inserted: true, id: job.id } : holders.get(job)!));
  }

  /**
   * The holder of each collided row's key. A holder can vanish between the insert and this lookup (its
   * `unique_active_key` went terminal); such rows are inserted again, a bounded number of times.
   */
  async #resolveCollisions(db: PostgresExecutor, collided: JobInsertRow[], depth = 1): Promise<Map<JobInsertRow, InsertOutcome>> {
    const holders = await this.#findHolders(db, collided);
    const orphans = collided.filter((j) => !holders.has(j));
    if (orphans.length === 0) return holders;
    if (depth >= INSERT_TRIES) {
      throw new FlywheelError("database", `flywheel: job ${orphans[0]!.id} was not inserted and no unique key holder was found`);
    }
    const retried = await this.#insertJobs(db, orphans, depth + 1);
    orphans.forEach((job, i) => holders.set(job, retried[i]!));
    return holders;
  }

  /**
   * The `INSERT ... SELECT FROM unnest(...) RETURNING id, queue, state` for `jobs`, binding one array per column
   * into `ps`; `ON CONFLICT DO NOTHING` only when a row carries a unique key (ids are fresh UUIDv7s, and the
   * speculative insertion that clause costs is a fifth of a single insert). `owner` adds a column the `guard` (a
   * condition on the unnest rows, alias `v`) may test. Returns the placeholders of the id, key and owner arrays
   * so a caller's statement can reuse them.
   */
  #insertSql(
    ps: Params,
    jobs: JobInsertRow[],
    options: { owner?: string[]; guard?: string; unstorable?: "refuse" | "replace" } = {},
  ): { text: string; ids: string; uniqueKeys: string; activeKeys: string; owner: string | null } {
    const columns = INSERT_COLUMNS[options.unstorable ?? "refuse"];
    const bound = columns.map((c) => ps.add(jobs.map(c.value)));
    const slot = (name: string) => bound[columns.findIndex((c) => c.name === name)]!;
    const arrays = columns.map((c, i) => `${bound[i]}::${c.type}[]`);
    const owner = options.owner ? ps.add(options.owner) : null;
    if (owner) arrays.push(`${owner}::text[]`);
    const keyed = jobs.some((j) => j.uniqueKey !== null || j.uniqueActiveKey !== null);
    const text = `INSERT INTO ${this.#t.jobs} (${INSERT_COLUMN_NAMES})
      SELECT ${INSERT_SELECT_LIST}
      FROM unnest(${arrays.join(", ")}) WITH ORDINALITY AS v(${columns.map((c) => c.name).join(", ")}, ${owner ? "owner, " : ""}ord)
      ${options.guard ? `WHERE ${options.guard}` : ""}
      ${keyed ? "ORDER BY ord ON CONFLICT DO NOTHING" /* input order decides which of two rows sharing a key wins, as on SQLite */ : ""}
      RETURNING id, queue, state`;
    return { text, ids: slot("id"), uniqueKeys: slot("unique_key"), activeKeys: slot("unique_active_key"), owner };
  }

  /** {@link #insertSql} for one row, as `VALUES`: scalar parameters instead of one-element arrays to unpack. */
  #insertOneSql(ps: Params, job: JobInsertRow): string {
    const keyed = job.uniqueKey !== null || job.uniqueActiveKey !== null;
    const columns = INSERT_COLUMNS.refuse;
    const values = columns.map((c) => `${ps.add(c.value(job))}::${c.type}`);
    return `INSERT INTO ${this.#t.jobs} (${INSERT_COLUMN_NAMES})
      SELECT ${INSERT_SELECT_LIST} FROM (VALUES (${values.join(", ")})) AS v(${columns.map((c) => c.name).join(", ")})
      ${keyed ? "ON CONFLICT DO NOTHING" : ""}
      RETURNING id, queue, state`;
  }

  async #findHolders(db: PostgresExecutor, jobs: JobInsertRow[]): Promise<Map<JobInsertRow, InsertOutcome>> {
    const uniqueKeys = jobs.flatMap((j) => (j.uniqueKey === null ? [] : [j.uniqueKey]));
    const activeKeys = jobs.flatMap((j) => (j.uniqueActiveKey === null ? [] : [j.uniqueActiveKey]));
    const rows = await db.unsafe(
      `SELECT 'unique_key' AS key, unique_key AS value, id FROM ${this.#t.jobs} WHERE unique_key = ANY($1::text[])
       UNION ALL
       SELECT 'unique_active_key', unique_active_key, id FROM ${this.#t.jobs}
       WHERE unique_active_key = ANY($2::text[]) AND state IN (${ACTIVE_SQL})`,
      [uniqueKeys, activeKeys],
      { prepare: this.#prepare },
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

  /** Runs one statement on the pool. */
  #q(text: string, params: any[] = [], options: { growing?: boolean } = {}): Promise<Row[]> {
    this.#assertOpen();
    // A prepared statement keeps the plan PostgreSQL chose for the tables as they were; one made while `jobs`
    // and `job_runs` were nearly empty goes on scanning them whole once they are not (a fresh schema's first
    // drain slowed threefold). The job path's statements therefore carry a plan epoch that moves each time
    // this driver's writes to either table grow fourfold, so they are prepared, and planned, anew a bounded
    // number of times.
    if (options.growing) text += ` /* plan ${epoch(this.#grown.jobs)}.${epoch(this.#grown.runs)} */`;
    return this.sql.unsafe(text, params, { prepare: this.#prepare }) as unknown as Promise<Row[]>;
  }

  /**
   * A transaction on the pool, for the rare paths that need several statements (migrate, explain). The job
   * path uses single statements instead: postgres.js throws an uncaught TypeError when a connection dies
   * inside `sql.begin` (it writes the ROLLBACK to the closed socket from a timer).
   */
  async #begin<T>(fn: (tx: postgres.TransactionSql<any>) => Promise<T>): Promise<T> {
    this.#assertOpen();
    return (await this.sql.begin("isolation level read committed", fn)) as T;
  }

  #assertOpen(): void {
    if (this.#closed) throw new FlywheelError("closed", "flywheel: the PostgreSQL driver is closed");
  }
}

/**
 * What JSON.stringify can emit but PostgreSQL cannot store: the escaped NUL character and escaped unpaired
 * surrogates (a valid pair is emitted raw, never escaped). An even run of backslashes before it is text.
 */
const UNSTORABLE_JSON = /(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/gi;
const UNSTORABLE_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** JSON text with what PostgreSQL cannot store replaced by U+FFFD. */
function storableJson(json: string): string {
  return json.replace(UNSTORABLE_JSON, "$1\\ufffd");
}

/** Text with NUL and unpaired surrogates (which PostgreSQL text cannot hold) replaced by U+FFFD. */
function storableText(text: string | null): string | null {
  return text === null ? null : text.replace(UNSTORABLE_TEXT, "\ufffd");
}

/**
 * A value as JSON text for a jsonb column. Input the caller can fix (args at insert) is refused with a
 * validation error naming it; data produced after the fact (outputs, follow-ups) is stored with U+FFFD.
 */
function jsonColumn(value: unknown, unstorable: "refuse" | "replace", what: string): string {
  return storableJsonText(JSON.stringify(value), unstorable, what);
}

/** JSON text PostgreSQL can store: NUL and unpaired surrogates are refused, or replaced with U+FFFD. */
function storableJsonText(json: string, unstorable: "refuse" | "replace", what: string): string {
  if (!json.includes("\\u")) return json;
  if (unstorable === "replace") return storableJson(json);
  UNSTORABLE_JSON.lastIndex = 0;
  if (UNSTORABLE_JSON.test(json)) {
    throw new ValidationError(`flywheel: ${what} contain a NUL character or an unpaired surrogate, which PostgreSQL cannot store`, what.split(" ").at(-1));
  }
  return json;
}

/** Positional parameters for one statement: `add` binds a value and returns its placeholder. */
/** A bound column of an inserted job: its name in `v`, its SQL type, and its value from a row. */
interface InsertColumn {
  name: string;
  type: string;
  value(job: JobInsertRow): unknown;
}

/** The columns `jobs` inserts bind, `id` first; JSON goes in as text and is cast in {@link INSERT_SELECT_LIST}. */
function insertColumns(unstorable: "refuse" | "replace"): InsertColumn[] {
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
    { name: "executor_class", type: "text", value: (j) => j.executorClass },
    { name: "tags", type: "text", value: (j) => json(j.tags, j, "tags") },
    { name: "metadata", type: "text", value: (j) => json(j.metadata, j, "metadata") },
    { name: "created_at", type: "timestamptz", value: (j) => j.createdAt.toISOString() },
  ];
}

/** {@link insertColumns} for each way of treating unstorable JSON, built once rather than per insert. */
const INSERT_COLUMNS = { refuse: insertColumns("refuse"), replace: insertColumns("replace") } as const;

const INSERT_COLUMN_NAMES =
  "id, kind, queue, args, priority, state, max_attempts, timeout_ms, scheduled_at, unique_key, unique_active_key, parent_job_id, executor_class, tags, metadata, created_at, updated_at";
const INSERT_SELECT_LIST =
  "id, kind, queue, args::jsonb, priority, state, max_attempts, timeout_ms, scheduled_at, unique_key, unique_active_key, parent_job_id, executor_class, tags::jsonb, metadata::jsonb, created_at, created_at";

/** Changes each time `rows` grows fourfold. */
function epoch(rows: number): number {
  return Math.floor(Math.log2(rows + 1) / 2);
}

/** A follow-up row and the run id of the finalize item that carries it. */
interface FollowUp {
  row: JobInsertRow;
  owner: string;
}

class Params {
  readonly values: any[] = [];
  add(value: unknown): string {
    return `$${this.values.push(value)}`;
  }
}

/** Splits a `?schema=` parameter off a connection URL (multi-host URLs too, which `URL` cannot parse). */
export function splitSchemaParam(url: string): { url: string; schema: string | undefined } {
  const mark = url.indexOf("?");
  if (mark === -1) return { url, schema: undefined };
  const query = new URLSearchParams(url.slice(mark + 1));
  const schema = query.get("schema") ?? undefined;
  if (schema === undefined) return { url, schema };
  query.delete("schema");
  const rest = query.toString();
  return { url: url.slice(0, mark) + (rest ? `?${rest}` : ""), schema };
}

/**
 * Refuses anything but a plain identifier: the schema name is spliced into SQL (quoted) and into the
 * notification channel name, so it must need no escaping and leave room for `_jobs` in 63 bytes.
 */
export function assertSchemaName(schema: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(schema) || schema.length > MAX_SCHEMA_LENGTH) {
    throw new FlywheelError(
      "config_invalid",
      `flywheel: invalid PostgreSQL schema name ${JSON.stringify(schema)}: use letters, digits and _ (not first), at most ${MAX_SCHEMA_LENGTH} characters`,
    );
  }
}

/** A literal for EXPLAIN EXECUTE; standard_conforming_strings (on since PostgreSQL 9.1) makes doubling quotes enough. */
function sqlLiteral(value: unknown): string {
  if (Array.isArray(value)) return `ARRAY[${value.map(sqlLiteral).join(",")}]::text[]`;
  if (value instanceof Date) return `'${value.toISOString()}'::timestamptz`;
  if (typeof value === "number") return String(Math.trunc(value));
  return `'${String(value).replaceAll("'", "''")}'`;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function asExecutor(tx: unknown): PostgresExecutor {
  if (typeof tx === "function" && typeof (tx as { unsafe?: unknown }).unsafe === "function") return tx as PostgresExecutor;
  throw new FlywheelError("validation", "flywheel: with PostgreSQL, `tx` must be a postgres.js transaction (the `tx` of sql.begin) or Sql");
}

/** bigint columns arrive as strings from postgres.js; every value flywheel stores fits a double. */
function num(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/** postgres.js hands back Dates, parsed jsonb and booleans already; bigints as strings. */
const decode = rowDecoders({
  date: (value) => (value as Date | null | undefined) ?? null,
  json: (value) => value ?? null,
  int: num,
  bool: (value) => value === true,
});
