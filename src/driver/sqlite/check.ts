import type { Database } from "bun:sqlite";
import { FlywheelError } from "../../core/errors.ts";
import { databaseFile } from "./connection.ts";

/** flywheel's tables; a probe reads each one that exists. */
const TABLES = ["flywheel_migrations", "jobs", "job_runs", "job_periodics", "job_steps", "job_events"];

/**
 * Proves the database answers with a real read: the schema, then the first page of each of flywheel's tables
 * that exists (a database not migrated yet has only the schema to read). `SELECT 1` would answer from a file
 * whose tables are damaged. With `integrity`, also runs `PRAGMA quick_check` (O(file size): for start-up and
 * `doctor`, not for every probe) and throws `corrupt` naming the file and the first problem it found.
 */
export function checkDatabase(db: Database, p: { integrity?: boolean }): void {
  // Read from the file, not from pages this connection cached while they were still healthy.
  db.run("PRAGMA shrink_memory");
  const present = new Set(
    (db.query("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name),
  );
  for (const table of TABLES) {
    if (present.has(table)) db.query(`SELECT 1 FROM ${table} LIMIT 1`).get();
  }
  if (!p.integrity) return;
  const report = (db.query("PRAGMA quick_check").values() as unknown[][]).map((row) => String(row[0]));
  if (report.length === 1 && report[0] === "ok") return;
  // Problems come as lines, the first under a "*** in database main ***" heading.
  const first = report.flatMap((entry) => entry.split("\n")).find((line) => line !== "" && !line.startsWith("***"));
  throw new FlywheelError("corrupt", `flywheel: the SQLite file ${databaseFile(db)} is damaged: quick_check reports ${JSON.stringify(first ?? report[0])}`);
}
