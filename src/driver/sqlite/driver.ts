import { Database, type SQLQueryBindings } from "bun:sqlite";
import { FlywheelError } from "../../core/errors.ts";
import { newId } from "../../core/id.ts";
import { JOB_STATES, isTerminal, type JobRecord, type JobState, type PeriodicRecord, type RunRecord } from "../../core/types.ts";
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

/** Options for {@link SqliteDriver}. `{}` means: WAL, `synchronous=NORMAL`, 5 s busy timeout, 10 ms wake poll. */
export interface SqliteDriverOptions {
  /** `full` makes every commit survive power loss; `normal` (default) survives any process crash. */
  synchronous?: "normal" | "full";
  busyTimeoutMs?: number;
  /** How often `subscribe` checks `PRAGMA data_version` for other processes' commits. */
  wakePollMs?: number;
  /** Close the Database on `close()`; true when the driver opened it. */
  ownsDatabase?: boolean;
}

/** SQLite's bound-parameter ceiling is 32,766; 16 columns a row keeps a chunk well below it. */
const INSERT_CHUNK = 1000;
const JOB_COLUMNS =
  "id, kind, queue, args, priority, state, max_attempts, timeout_ms, scheduled_at, unique_key, unique_active_key, parent_job_id, executor_class, tags, metadata, created_at, updated_at";
const JOB_PLACEHOLDERS = `(${Array(17).fill("?").join(",")})`;

/** The bun:sqlite implementation of {@link Driver}. One connection; bun:sqlite is synchronous, so every method completes before it returns its promise. */
export class SqliteDriver implements Driver {
  readonly dialect = "sqlite" as const;
  readonly db: Database;
  readonly #options: SqliteDriverOptions;
  readonly #listeners = new Set<() => void>();
  #wakeTimer: ReturnType<typeof setInterval> | null = null;
  #dataVersion = 0;
  #closed = false;

  constructor(db: Database, options: SqliteDriverOptions = {}) {
    this.db = db;
    this.#options = options;
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    db.run(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
    enableWal(db, busyTimeoutMs);
    db.run(`PRAGMA synchronous = ${options.synchronous === "full" ? "FULL" : "NORMAL"}`);
  }

  /** Opens (creating if needed) the SQLite file at `path`, or an in-memory database for `:memory:`. */
  static open(path: string, options: SqliteDriverOptions = {}): SqliteDriver {
    const db = new Database(path, { create: true, strict: true });
    return new SqliteDriver(db, { ...options, ownsDatabase: options.ownsDatabase ?? true });
  }

  async migrate(): Promise<{ applied: number[] }> {
    const applied: number[] = [];
    this.#tx(() => {
      this.db.run("CREATE TABLE IF NOT EXISTS flywheel_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
      const current = this.#currentVersion();
      if (current > MIGRATIONS.length) throw schemaTooNew(current, MIGRATIONS.length);
      for (let v = current + 1; v <= MIGRATIONS.length; v++) {
        this.db.run(MIGRATIONS[v - 1]!);
        this.db.query("INSERT INTO flywheel_migrations (version, applied_at) VALUES (?, ?)").run(v, Date.now());
        applied.push(v);
      }
    });
    return { applied };
  }

  async schemaVersion(): Promise<{ current: number; latest: number }> {
    const exists = this.db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'flywheel_migrations'").get();
    return { current: exists ? this.#currentVersion() : 0, latest: MIGRATIONS.length };
  }

  async ping(): Promise<void> {
    this.#assertOpen();
    this.db.query("SELECT 1").get();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#wakeTimer) clearInterval(this.#wakeTimer);
    this.#listeners.clear();
    if (this.#options.ownsDatabase) this.db.close(false);
  }

  async jobInsert(p: { jobs: JobInsertRow[]; tx?: unknown }): Promise<InsertOutcome[]> {
    const db = p.tx === undefined ? this.db : asDatabase(p.tx);
    // A caller's transaction is already open; otherwise chunks of a large batch commit together.
    return p.tx === undefined && p.jobs.length > INSERT_CHUNK ? this.#tx(() => insertJobs(db, p.jobs)) : insertJobs(db, p.jobs);
  }

  async jobClaim(p: ClaimParams): Promise<ClaimedJob[]> {
    return this.#tx(() => this.#claim(p));
  }

  async jobFinalizeAndClaim(p: { items: FinalizeItem[]; claim: ClaimParams }): Promise<{ outcomes: FinalizeOutcome[]; jobs: ClaimedJob[] }> {
    return this.#tx(() => ({ outcomes: this.#finalize(p.items, p.claim.now), jobs: this.#claim(p.claim) }));
  }

  /** The claim, inside the caller's transaction. */
  #claim(p: ClaimParams): ClaimedJob[] {
    if (p.limit <= 0) return [];
    const now = p.now.getTime();
    const scoped = this.#withReadyQueues(p);
    if (scoped.queues?.length === 0) return [];
    const candidates = claimCandidates(scoped, now);
    const params: SQLQueryBindings[] = [p.leasedUntil.getTime(), p.leaseToken, now, ...candidates.params];
    const sql =
      `UPDATE jobs SET state = 'running', attempt = attempt + 1, leased_until = ?, lease_token = ?, updated_at = ? ` +
      `WHERE id IN (${candidates.sql}) RETURNING *`;
    const rows = this.db.query(sql).all(...params) as Row[];
    if (rows.length === 0) return [];
    const claimed = rows.map((row) => ({ ...decode.job(row), runId: newId(), startedAt: p.now }));
    claimed.sort((a, b) => a.priority - b.priority || a.scheduledAt.getTime() - b.scheduledAt.getTime() || (a.id < b.id ? -1 : 1));
    const stubs: SQLQueryBindings[] = [];
    for (const job of claimed) stubs.push(job.runId, job.id, job.attempt, job.executorClass, p.executorId, now, now);
    const values = Array(claimed.length).fill("(?, ?, ?, ?, ?, ?, 'started', ?)").join(",");
    this.db.query(`INSERT INTO job_runs (id, job_id, attempt, executor_class, executor_id, started_at, outcome, created_at) VALUES ${values}`).run(...stubs);
    return claimed;
  }

  /**
   * A claim over every queue, scoped to the queues that have claimable jobs, so it walks `jobs_ready` per queue
   * like any other claim. Ordering every ready row by priority instead reads and sorts the whole backlog: 2k
   * jobs/s at 25k rows in `runUntilIdle`. The queues come from a loose index scan, one probe per queue.
   */
  #withReadyQueues(p: ClaimParams): ClaimParams {
    if (p.queues || p.ids) return p;
    const next = `SELECT queue FROM jobs INDEXED BY jobs_ready WHERE state IN (${CLAIMABLE_SQL}) AND deleted_at IS NULL`;
    const rows = this.db
      .query(
        `WITH RECURSIVE q(name) AS (
           SELECT (${next} ORDER BY queue LIMIT 1)
           UNION ALL
           SELECT (${next} AND queue > q.name ORDER BY queue LIMIT 1) FROM q WHERE q.name IS NOT NULL
         ) SELECT name FROM q WHERE name IS NOT NULL`,
      )
      .all() as Row[];
    return { ...p, queues: rows.map((r) => r.name as string) };
  }

  /** The query plan (`EXPLAIN QUERY PLAN` lines) of {@link jobList} for `p`, for tests that hold it to an index. */
  explainJobList(p: JobListParams): string {
    return this.#jobListSql(p, (sql, params) => (this.db.query(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Row[]).map((r) => r.detail).join("\n"));
  }

  /** The claim's query plan (`EXPLAIN QUERY PLAN` lines), for tests that hold it to an index walk without a sort. */
  async explainClaim(p: ClaimParams): Promise<string> {
    const candidates = claimCandidates(this.#withReadyQueues(p), p.now.getTime());
    const rows = this.db.query(`EXPLAIN QUERY PLAN ${candidates.sql}`).all(...candidates.params) as Row[];
    return rows.map((r) => r.detail as string).join("\n");
  }

  async leaseRenew(p: { leases: LeaseRef[]; leasedUntil: Date; now: Date }): Promise<Set<string>> {
    const held = new Set<string>();
    if (p.leases.length === 0) return held;
    const renew = this.db.query(
      "UPDATE jobs SET leased_until = MAX(leased_until, ?), updated_at = ? WHERE id = ? AND lease_token = ? AND state = 'running' RETURNING id",
    );
    this.#tx(() => {
      for (const lease of p.leases) {
        const row = renew.get(p.leasedUntil.getTime(), p.now.getTime(), lease.jobId, lease.leaseToken) as Row | null;
        if (row) held.add(row.id);
      }
    });
    return held;
  }

  async jobFinalize(p: { items: FinalizeItem[]; now: Date }): Promise<FinalizeOutcome[]> {
    return this.#tx(() => this.#finalize(p.items, p.now));
  }

  /** The finalize, inside the caller's transaction. */
  #finalize(items: FinalizeItem[], at: Date): FinalizeOutcome[] {
    const now = at.getTime();
    const advance = this.db.query(
      `UPDATE jobs SET state = ?1, scheduled_at = COALESCE(?2, scheduled_at), max_attempts = max_attempts + ?3,
         leased_until = NULL, lease_token = NULL, updated_at = ?4,
         finalized_at = CASE WHEN ?1 IN (${TERMINAL_SQL}) THEN ?4 ELSE NULL END
       WHERE id = ?5 AND lease_token = ?6 RETURNING id`,
    );
    const currentState = this.db.query("SELECT state FROM jobs WHERE id = ?");
    const recorded = this.db.query("SELECT outcome FROM job_runs WHERE id = ?");
    // Runs already finalized are left alone, so finalizing the same items twice changes nothing.
    const recordRun = this.db.query(
      `UPDATE job_runs SET outcome = ?, error_class = ?, error_message = ?, output = ?, finished_at = ?, duration_ms = ?,
         cost_micros = ?, enqueued_children = ? WHERE id = ? AND outcome IN ('started', 'crashed')`,
    );
    return items.map((item): FinalizeOutcome => {
      const applied = advance.get(
        item.job.state,
        item.job.scheduledAt?.getTime() ?? null,
        item.job.maxAttemptsDelta,
        now,
        item.jobId,
        item.leaseToken,
      ) as Row | null;
      let outcome: FinalizeOutcome["outcome"] = item.run.outcome;
      let children: InsertOutcome[] = [];
      if (applied) {
        if (item.followUps.length > 0) children = insertJobs(this.db, item.followUps);
      } else {
        const before = (recorded.get(item.runId) as Row | null)?.outcome as FinalizeOutcome["outcome"] | undefined;
        if (before === undefined) throw new FlywheelError("database", `jobs: finalize found no run ${item.runId} for job ${item.jobId}`);
        // Finalized already: report what was recorded then, as a retried PostgreSQL finalize does.
        if (before !== "started" && before !== "crashed") return { applied: before === item.run.outcome, outcome: before, children: [] };
        const state = (currentState.get(item.jobId) as Row | null)?.state;
        outcome = state === "cancelled" ? "cancelled" : "superseded";
      }
      const r = item.run;
      recordRun.run(
        outcome,
        r.errorClass,
        r.errorMessage,
        r.output === undefined ? null : JSON.stringify(r.output),
        r.finishedAt.getTime(),
        r.durationMs,
        r.costMicros,
        children.filter((c) => c.inserted).length,
        item.runId,
      );
      return { applied: applied !== null, outcome, children };
    });
  }

  async sweep(p: { now: Date; limit: number }): Promise<number> {
    const now = p.now.getTime();
    return this.#tx(() => {
      const rows = this.db
        .query(
          `UPDATE jobs SET
             state = CASE WHEN attempt >= max_attempts THEN 'discarded' ELSE 'retryable' END,
             finalized_at = CASE WHEN attempt >= max_attempts THEN ?1 ELSE NULL END,
             scheduled_at = ?1, leased_until = NULL, lease_token = NULL, updated_at = ?1
           WHERE id IN (SELECT id FROM jobs WHERE state = 'running' AND leased_until < ?1 ORDER BY leased_until LIMIT ?2)
           RETURNING id`,
        )
        .all(now, p.limit) as Row[];
      if (rows.length === 0) return 0;
      const ids = rows.map((r) => r.id as string);
      this.db
        .query(
          `UPDATE job_runs SET outcome = 'crashed', finished_at = ?, duration_ms = ? - started_at,
             error_class = 'crashed', error_message = 'lease expired: the runner stopped renewing it'
           WHERE outcome = 'started' AND job_id IN (${placeholders(ids.length)})`,
        )
        .run(now, now, ...ids);
      return ids.length;
    });
  }

  async jobGet(id: string): Promise<JobRecord | null> {
    const row = this.db.query("SELECT * FROM jobs WHERE id = ?").get(id) as Row | null;
    return row ? decode.job(row) : null;
  }

  async jobList(p: JobListParams): Promise<JobRecord[]> {
    return this.#jobListSql(p, (sql, params) => (this.db.query(sql).all(...params) as Row[]).map(decode.job));
  }

  #jobListSql<T>(p: JobListParams, run: (sql: string, params: SQLQueryBindings[]) => T): T {
    const where: string[] = ["deleted_at IS NULL"];
    const params: SQLQueryBindings[] = [];
    for (const [column, value] of [["state", p.state], ["kind", p.kind], ["queue", p.queue]] as const) {
      if (value === undefined) continue;
      where.push(`${column} = ?`);
      params.push(value);
    }
    if (p.before) {
      where.push("id < ?");
      params.push(p.before);
    }
    where.push(...failedIndexHint(p.state));
    params.push(p.limit);
    return run(`SELECT * FROM jobs WHERE ${where.join(" AND ")} ORDER BY id DESC LIMIT ?`, params);
  }

  async runList(jobId: string): Promise<RunRecord[]> {
    const rows = this.db.query("SELECT * FROM job_runs WHERE job_id = ? ORDER BY attempt").all(jobId) as Row[];
    return rows.map(decode.run);
  }

  async jobCancel(p: { id: string; now: Date }): Promise<JobRecord | null> {
    return this.#tx(() => {
      const row = this.db.query("SELECT * FROM jobs WHERE id = ?").get(p.id) as Row | null;
      if (!row) return null;
      const before = decode.job(row);
      if (isTerminal(before.state)) return before;
      const now = p.now.getTime();
      this.db
        .query(
          "UPDATE jobs SET state = 'cancelled', leased_until = NULL, lease_token = NULL, finalized_at = ?, updated_at = ? WHERE id = ?",
        )
        .run(now, now, p.id);
      return before;
    });
  }

  async jobRetry(p: { id: string; now: Date }): Promise<JobRecord | null> {
    return this.#tx(() => {
      const row = this.db.query("SELECT * FROM jobs WHERE id = ?").get(p.id) as Row | null;
      if (!row) return null;
      const before = decode.job(row);
      if (before.state === "running") return before;
      const now = p.now.getTime();
      this.db
        .query(
          `UPDATE jobs SET state = 'available', scheduled_at = ?1, max_attempts = MAX(max_attempts, attempt + 1),
             finalized_at = NULL, updated_at = ?1 WHERE id = ?2`,
        )
        .run(now, p.id);
      return before;
    });
  }

  async jobDeleteFinished(p: { before: Date; limit: number }): Promise<number> {
    return this.#tx(() => {
      const rows = this.db
        .query(
          `SELECT id FROM jobs WHERE finalized_at IS NOT NULL AND finalized_at < ? AND state IN (${TERMINAL_SQL}) ORDER BY finalized_at LIMIT ?`,
        )
        .all(p.before.getTime(), p.limit) as Row[];
      if (rows.length === 0) return 0;
      const ids = rows.map((r) => r.id as string);
      this.db.query(`DELETE FROM job_runs WHERE job_id IN (${placeholders(ids.length)})`).run(...ids);
      this.db.query(`DELETE FROM jobs WHERE id IN (${placeholders(ids.length)})`).run(...ids);
      return ids.length;
    });
  }

  async jobOverview(p: { kind?: string }): Promise<Array<{ kind: string; state: JobState; count: number }>> {
    const sql = `SELECT kind, state, count(*) AS count FROM jobs WHERE deleted_at IS NULL ${p.kind ? "AND kind = ?" : ""} GROUP BY kind, state ORDER BY kind, state`;
    return this.db.query(sql).all(...(p.kind ? [p.kind] : [])) as Array<{ kind: string; state: JobState; count: number }>;
  }

  async queueStats(p: { now: Date; queues?: string[] }): Promise<QueueStats> {
    const queueFilter = p.queues ? ` AND queue IN (${placeholders(p.queues.length)})` : "";
    const queues = p.queues ?? [];
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const row of this.db
      .query(`SELECT state, count(*) AS n FROM jobs WHERE deleted_at IS NULL${queueFilter} GROUP BY state`)
      .all(...queues) as Row[]) {
      counts[row.state as JobState] = row.n;
    }
    const ready = this.db
      .query(
        `SELECT count(*) AS n, min(scheduled_at) AS oldest FROM jobs WHERE state IN (${CLAIMABLE_SQL}) AND deleted_at IS NULL AND scheduled_at <= ?${queueFilter}`,
      )
      .get(p.now.getTime(), ...queues) as Row;
    const ahead = this.db
      .query(
        `SELECT count(*) AS n FROM jobs WHERE state IN (${CLAIMABLE_SQL}) AND deleted_at IS NULL AND scheduled_at > ?${queueFilter}`,
      )
      .get(p.now.getTime(), ...queues) as Row;
    return { counts, ready: ready.n, scheduledAhead: ahead.n, oldestReadyAt: ready.oldest === null ? null : new Date(ready.oldest) };
  }

  async recentFailures(p: { since: Date; limit: number }) {
    const rows = this.db
      .query(
        `SELECT j.id AS job_id, j.kind, j.queue, j.attempt, j.finalized_at, r.error_class, r.error_message
         FROM jobs j LEFT JOIN job_runs r ON r.job_id = j.id AND r.attempt = j.attempt
         WHERE j.state = 'discarded' AND j.finalized_at >= ? ORDER BY j.finalized_at DESC LIMIT ?`,
      )
      .all(p.since.getTime(), p.limit) as Row[];
    return rows.map((r) => ({
      jobId: r.job_id,
      kind: r.kind,
      queue: r.queue,
      attempt: r.attempt,
      finalizedAt: toDate(r.finalized_at),
      errorClass: r.error_class ?? null,
      errorMessage: r.error_message ?? null,
    }));
  }

  async periodicGet(slug: string): Promise<PeriodicRecord | null> {
    const row = this.db.query("SELECT * FROM job_periodics WHERE slug = ?").get(slug) as Row | null;
    return row ? decode.periodic(row) : null;
  }

  async periodicList(): Promise<PeriodicRecord[]> {
    return (this.db.query("SELECT * FROM job_periodics ORDER BY slug").all() as Row[]).map(decode.periodic);
  }

  async periodicSave(p: PeriodicSaveRow): Promise<PeriodicRecord> {
    const now = p.now.getTime();
    const row = this.db
      .query(
        `INSERT INTO job_periodics (id, slug, kind, queue, args_template, cron_expr, interval_seconds, timezone, overlap, catch_up,
           backfill, max_attempts, priority, timeout_ms, source, next_run_at, is_active, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?18)
         ON CONFLICT (slug) DO UPDATE SET kind = excluded.kind, queue = excluded.queue, args_template = excluded.args_template,
           cron_expr = excluded.cron_expr, interval_seconds = excluded.interval_seconds, timezone = excluded.timezone,
           overlap = excluded.overlap, catch_up = excluded.catch_up, backfill = excluded.backfill,
           max_attempts = excluded.max_attempts, priority = excluded.priority, timeout_ms = excluded.timeout_ms,
           source = excluded.source, next_run_at = excluded.next_run_at, is_active = excluded.is_active,
           updated_at = excluded.updated_at
         RETURNING *`,
      )
      .get(
        newId(),
        p.slug,
        p.kind,
        p.queue,
        JSON.stringify(p.args ?? {}),
        p.cron,
        p.intervalSeconds,
        p.timezone,
        p.overlap,
        p.catchUp,
        p.backfill,
        p.maxAttempts,
        p.priority,
        p.timeoutMs,
        p.source,
        p.nextRunAt.getTime(),
        p.isActive ? 1 : 0,
        now,
      ) as Row;
    return decode.periodic(row);
  }

  async periodicDue(p: { now: Date; limit: number }): Promise<PeriodicRecord[]> {
    const rows = this.db
      .query("SELECT * FROM job_periodics WHERE is_active = 1 AND next_run_at <= ? ORDER BY next_run_at LIMIT ?")
      .all(p.now.getTime(), p.limit) as Row[];
    return rows.map(decode.periodic);
  }

  async periodicFire(p: PeriodicFireParams): Promise<{ fired: boolean; inserted: InsertOutcome[] }> {
    const now = p.now.getTime();
    return this.#tx(() => {
      const won = this.db
        .query("UPDATE job_periodics SET next_run_at = ?, updated_at = ? WHERE id = ? AND next_run_at = ? RETURNING id")
        .get(p.nextRunAt.getTime(), now, p.id, p.expectedNextRunAt.getTime());
      if (!won) return { fired: false, inserted: [] };
      const inserted = p.jobs.length > 0 ? insertJobs(this.db, p.jobs) : [];
      const overlapped = inserted.filter((o) => !o.inserted && o.key === "unique_active_key").length;
      const skipped = p.skipped + overlapped;
      const reason = overlapped > 0 ? "overlap" : p.skipReason;
      const enqueued = inserted.some((o) => o.inserted);
      this.db
        .query(
          `UPDATE job_periodics SET skipped_count = skipped_count + ?1,
             last_skipped_at = CASE WHEN ?1 > 0 THEN ?2 ELSE last_skipped_at END,
             last_skip_reason = CASE WHEN ?1 > 0 THEN ?3 ELSE last_skip_reason END,
             last_enqueued_at = CASE WHEN ?4 THEN ?2 ELSE last_enqueued_at END
           WHERE id = ?5`,
        )
        .run(skipped, now, reason, enqueued ? 1 : 0, p.id);
      return { fired: true, inserted };
    });
  }

  async periodicSetActive(p: { slug: string; active: boolean; now: Date }): Promise<boolean> {
    const res = this.db
      .query("UPDATE job_periodics SET is_active = ?, updated_at = ? WHERE slug = ?")
      .run(p.active ? 1 : 0, p.now.getTime(), p.slug);
    return res.changes > 0;
  }

  async periodicDelete(slug: string): Promise<boolean> {
    return this.db.query("DELETE FROM job_periodics WHERE slug = ?").run(slug).changes > 0;
  }

  async periodicDeactivateMissing(p: { source: string; keep: string[]; now: Date }): Promise<string[]> {
    const keep = p.keep.length > 0 ? ` AND slug NOT IN (${placeholders(p.keep.length)})` : "";
    const rows = this.db
      .query(`UPDATE job_periodics SET is_active = 0, updated_at = ? WHERE source = ? AND is_active = 1${keep} RETURNING slug`)
      .all(p.now.getTime(), p.source, ...p.keep) as Row[];
    return rows.map((r) => r.slug as string).sort();
  }

  isDataError(error: unknown): boolean {
    const code = (error as { code?: unknown } | null)?.code;
    return typeof code === "string" && /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/.test(code);
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    if (!this.#wakeTimer && !this.#closed) {
      this.#dataVersion = this.#readDataVersion();
      // data_version moves only when another connection commits, so this sees other processes' inserts
      // for the price of one pragma per tick.
      this.#wakeTimer = setInterval(() => {
        const version = this.#readDataVersion();
        if (version === this.#dataVersion) return;
        this.#dataVersion = version;
        for (const fn of this.#listeners) fn();
      }, this.#options.wakePollMs ?? 10);
      this.#wakeTimer.unref?.();
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && this.#wakeTimer) {
        clearInterval(this.#wakeTimer);
        this.#wakeTimer = null;
      }
    };
  }

  #readDataVersion(): number {
    return (this.db.query("PRAGMA data_version").get() as Row).data_version as number;
  }

  #currentVersion(): number {
    return ((this.db.query("SELECT max(version) AS v FROM flywheel_migrations").get() as Row).v as number | null) ?? 0;
  }

  #assertOpen(): void {
    if (this.#closed) throw new FlywheelError("closed", "flywheel: the SQLite driver is closed");
  }

  /** Runs `fn` in a `BEGIN IMMEDIATE` transaction: taking the write lock up front avoids SQLITE_BUSY on read-then-write. */
  #tx<T>(fn: () => T): T {
    this.#assertOpen();
    if (this.db.inTransaction) return fn();
    return this.db.transaction(fn).immediate();
  }
}

/**
 * The ids a claim takes. With queues, each queue is one ordered walk of `jobs_ready`, pinned with INDEXED BY:
 * after ANALYZE the planner otherwise prefers other indexes and sorts the backlog (15 ms a claim at 100k rows).
 * Several queues merge their walks' first `limit` rows, so the sort is over at most queues × limit rows.
 */
function claimCandidates(p: ClaimParams, now: number): { sql: string; params: SQLQueryBindings[] } {
  const filters: string[] = [`state IN (${CLAIMABLE_SQL})`, "deleted_at IS NULL", "scheduled_at <= ?"];
  const filterParams: SQLQueryBindings[] = [now];
  if (p.executorClasses) {
    filters.push(`executor_class IN (${placeholders(p.executorClasses.length)})`);
    filterParams.push(...p.executorClasses);
  }
  if (p.ids || !p.queues) {
    if (p.ids) {
      filters.push(`id IN (${placeholders(p.ids.length)})`);
      filterParams.push(...p.ids);
    }
    if (p.queues) {
      filters.push(`queue IN (${placeholders(p.queues.length)})`);
      filterParams.push(...p.queues);
    }
    return { sql: `SELECT id FROM jobs WHERE ${filters.join(" AND ")} ORDER BY priority, scheduled_at, id LIMIT ?`, params: [...filterParams, p.limit] };
  }
  const walk = `SELECT id, priority, scheduled_at FROM jobs INDEXED BY jobs_ready WHERE queue = ? AND ${filters.join(" AND ")} ORDER BY priority, scheduled_at, id LIMIT ?`;
  if (p.queues.length === 1) return { sql: walk.replace("SELECT id, priority, scheduled_at", "SELECT id"), params: [p.queues[0]!, ...filterParams, p.limit] };
  const params: SQLQueryBindings[] = [];
  for (const queue of p.queues) params.push(queue, ...filterParams, p.limit);
  const union = p.queues.map(() => `SELECT * FROM (${walk})`).join(" UNION ALL ");
  return { sql: `SELECT id FROM (${union}) ORDER BY priority, scheduled_at, id LIMIT ?`, params: [...params, p.limit] };
}

/**
 * Switches the file to WAL. SQLite answers SQLITE_BUSY here without consulting the busy timeout while another
 * process is opening the same new file (several `flywheel` commands started at once), so retry until the timeout.
 */
function enableWal(db: Database, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      db.run("PRAGMA journal_mode = WAL");
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== "SQLITE_BUSY" || Date.now() >= deadline) throw error;
      Bun.sleepSync(5);
    }
  }
}

function insertJobs(db: Database, jobs: JobInsertRow[]): InsertOutcome[] {
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
  throw new FlywheelError("database", `flywheel: job ${job.id} was not inserted and no unique key holder was found`);
}

function asDatabase(tx: unknown): Database {
  if (tx instanceof Database) return tx;
  throw new FlywheelError("validation", "flywheel: with SQLite, `tx` must be a bun:sqlite Database inside db.transaction()");
}

function placeholders(n: number): string {
  return Array(n).fill("?").join(",");
}

function toDate(ms: unknown): Date | null {
  return ms === null || ms === undefined ? null : new Date(ms as number);
}

/** SQLite hands back millisecond integers, JSON as text and booleans as 0/1. */
const decode = rowDecoders({
  date: toDate,
  json: (text) => (text === null || text === undefined ? null : JSON.parse(text as string)),
  int: (value) => (value as number | null | undefined) ?? null,
  bool: (value) => value === 1,
});
