import { schemaTooNew } from "../sql.ts";
import type { PgContext } from "./context.ts";
import { quoteIdent } from "./tables.ts";
import init from "./0001_init.sql" with { type: "text" };
import leanStateIndex from "./0002_lean_state_index.sql" with { type: "text" };
import periodicErrors from "./0003_periodic_errors.sql" with { type: "text" };
import workflows from "./0004_workflows.sql" with { type: "text" };
import scheduleState from "./0005_schedule_state.sql" with { type: "text" };
import nodesQueues from "./0006_nodes_queues.sql" with { type: "text" };
import topicsHistory from "./0007_topics_history.sql" with { type: "text" };
import limitsBreakers from "./0008_limits_breakers.sql" with { type: "text" };
import periodicJitter from "./0009_periodic_jitter.sql" with { type: "text" };
import bindingSource from "./0010_binding_source.sql" with { type: "text" };

/** Migrations in order; the array index + 1 is the version. Embedded as text so the compiled binary carries them. */
export const MIGRATIONS: readonly string[] = [init, leanStateIndex, periodicErrors, workflows, scheduleState, nodesQueues, topicsHistory, limitsBreakers, periodicJitter, bindingSource];

/** Creates or upgrades the schema; idempotent, and safe from several nodes at once. */
export async function schemaMigrate(ctx: PgContext): Promise<{ applied: number[] }> {
  const schema = quoteIdent(ctx.schema);
  // A transaction, one of the rare paths that needs several statements. The job path uses single statements
  // instead: postgres.js throws an uncaught TypeError when a connection dies inside `sql.begin` (it writes the
  // ROLLBACK to the closed socket from a timer).
  return (await ctx.sql.begin("isolation level read committed", async (tx) => {
    // Serializes concurrent migrators (several nodes starting at once): CREATE ... IF NOT EXISTS alone races.
    await tx.unsafe("SELECT pg_advisory_xact_lock(hashtext($1))", [`flywheel.migrate:${ctx.schema}`]);
    await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await tx.unsafe(`CREATE TABLE IF NOT EXISTS ${ctx.t.migrations} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)`);
    const [row] = await tx.unsafe(`SELECT coalesce(max(version), 0)::int AS v FROM ${ctx.t.migrations}`);
    const current = row!.v as number;
    if (current > MIGRATIONS.length) throw schemaTooNew(current, MIGRATIONS.length);
    const applied: number[] = [];
    // The migration files use unqualified names; search_path puts them in our schema for this transaction only.
    await tx.unsafe(`SET LOCAL search_path TO ${schema}`);
    for (let v = current + 1; v <= MIGRATIONS.length; v++) {
      await tx.unsafe(MIGRATIONS[v - 1]!);
      await tx.unsafe(`INSERT INTO ${ctx.t.migrations} (version, applied_at) VALUES ($1, $2)`, [v, new Date()]);
      applied.push(v);
    }
    return { applied };
  })) as { applied: number[] };
}

/** The applied schema version (0 before the first migrate) and the newest this code knows. */
export async function schemaVersion(ctx: PgContext): Promise<{ current: number; latest: number }> {
  const [exists] = await ctx.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [ctx.t.migrations]);
  if (!exists!.ok) return { current: 0, latest: MIGRATIONS.length };
  const [row] = await ctx.query(`SELECT coalesce(max(version), 0)::int AS v FROM ${ctx.t.migrations}`);
  return { current: row!.v, latest: MIGRATIONS.length };
}

/**
 * Resolves when the database answers a real read of flywheel's tables (a bare `SELECT 1` would pass against a
 * schema that was never migrated or was dropped). `integrity` adds nothing here: PostgreSQL has no cheap
 * counterpart to SQLite's `quick_check`, and a damaged page surfaces as an error of the statement that reads it.
 */
export async function dbCheck(ctx: PgContext): Promise<void> {
  // A real read of flywheel's tables when they exist; a schema not migrated yet answers too (as on SQLite), so
  // `doctor` can report version 0 rather than a failure.
  const [row] = await ctx.query(`SELECT to_regclass($1) IS NOT NULL AS migrated`, [ctx.t.migrations]);
  if (row!.migrated) await ctx.query(`SELECT version FROM ${ctx.t.migrations} LIMIT 1`);
}
