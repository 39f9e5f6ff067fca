import type { Database } from "bun:sqlite";
import type { Row } from "../decode.ts";
import { schemaTooNew } from "../sql.ts";
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

/**
 * Applies the migrations the database lacks and records each in `flywheel_migrations`; refuses a schema newer
 * than {@link MIGRATIONS}. Run inside the caller's `BEGIN IMMEDIATE` transaction, so two processes migrating
 * one new file at once apply each version once.
 */
export function migrateSchema(db: Database): { applied: number[] } {
  const applied: number[] = [];
  db.run("CREATE TABLE IF NOT EXISTS flywheel_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  const current = appliedVersion(db);
  if (current > MIGRATIONS.length) throw schemaTooNew(current, MIGRATIONS.length);
  for (let v = current + 1; v <= MIGRATIONS.length; v++) {
    db.run(MIGRATIONS[v - 1]!);
    db.query("INSERT INTO flywheel_migrations (version, applied_at) VALUES (?, ?)").run(v, Date.now());
    applied.push(v);
  }
  return { applied };
}

/** The applied schema version (0 before the first migration) and the newest this code knows. */
export function schemaVersion(db: Database): { current: number; latest: number } {
  const exists = db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'flywheel_migrations'").get();
  return { current: exists ? appliedVersion(db) : 0, latest: MIGRATIONS.length };
}

function appliedVersion(db: Database): number {
  return ((db.query("SELECT max(version) AS v FROM flywheel_migrations").get() as Row).v as number | null) ?? 0;
}
