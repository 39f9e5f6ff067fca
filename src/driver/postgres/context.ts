import type postgres from "postgres";
import type { Row } from "../decode.ts";
import { Params } from "./params.ts";
import { PlanEpoch } from "./plan-epoch.ts";
import { schemaNames, type SchemaNames, type Scope } from "./tables.ts";

/**
 * A postgres.js handle a statement can run on: the pool, a reserved connection, or the caller's open
 * transaction. postgres.js does not make `TransactionSql` assignable to `Sql`, so this union is the type to
 * accept for the outbox `tx`.
 */
export type PostgresExecutor = postgres.Sql<any> | postgres.TransactionSql<any>;

/** What every operation module runs on: the names, the pools, and one way to send a statement. */
export interface PgContext extends SchemaNames {
  /** The pool every statement off the job path, and without a caller's `tx`, runs on. */
  readonly sql: postgres.Sql<any>;
  /** The job path's own connections (see `lane.ts`); `sql` itself for a pool of two or fewer. */
  readonly lane: postgres.Sql<any>;
  /** How far this driver's writes grew the tables; see {@link PlanEpoch}. */
  readonly epoch: PlanEpoch;
  /**
   * Whether this driver's last claim found limits (or open breakers) configured: its next claim takes the gated path
   * at once instead of first running the plain claim, which would find them again and claim nothing.
   */
  readonly gates: { limited: boolean };
  /** A fresh scope (names plus empty parameters) for building one statement. */
  scope(): Scope;
  /**
   * Runs one statement on `db` (default: the lane for `jobPath`, else the pool). Statement texts carry the
   * (validated, quoted) schema and depend only on the shape of a call, so they run as prepared statements unless
   * the pool was opened with `prepare: false` (PgBouncer in transaction mode). `jobPath` (claim, finalize, lease
   * renewal: statements over tables that grow) also tags the text with the plan epoch.
   */
  query(text: string, params?: any[], options?: { jobPath?: boolean; db?: PostgresExecutor }): Promise<Row[]>;
}

/** The context for a driver on `sql` (and its job path on `lane`) whose tables live in `schema` (already validated). */
export function pgContext(sql: postgres.Sql<any>, schema: string, lane: postgres.Sql<any> = sql): PgContext {
  const names = schemaNames(schema);
  const prepare = sql.options?.prepare !== false;
  const epoch = new PlanEpoch();
  return {
    ...names,
    sql,
    lane,
    epoch,
    gates: { limited: false },
    scope: () => ({ ...names, ps: new Params() }),
    query(text, params = [], options = {}) {
      const db = options.db ?? (options.jobPath ? lane : sql);
      return db.unsafe(options.jobPath ? epoch.tag(text) : text, params, { prepare }) as unknown as Promise<Row[]>;
    },
  };
}

/**
 * Runs `fn` in one transaction on a reserved connection, for the few paths that need several statements (the
 * claim under limits, a finalize that moves breakers). `fn` gets a context whose statements default to that
 * connection, and the connection itself. `begin` may add statements to the `BEGIN` round trip (no parameters).
 * Not `sql.begin`: when a connection dies inside it, postgres.js writes the ROLLBACK to the dead socket from a
 * timer and throws an uncaught TypeError; here a dead connection's error simply rejects, and the server ends the
 * transaction with the session.
 */
export async function inTransaction<T>(ctx: PgContext, fn: (tx: PgContext, db: PostgresExecutor) => Promise<T>, begin = "BEGIN"): Promise<T> {
  const db = await ctx.lane.reserve();
  try {
    await db.unsafe(begin);
    const tx: PgContext = { ...ctx, query: (text, params, options = {}) => ctx.query(text, params, { ...options, db: options.db ?? db }) };
    const result = await fn(tx, db);
    await db.unsafe("COMMIT");
    return result;
  } catch (error) {
    await db.unsafe("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    db.release();
  }
}
