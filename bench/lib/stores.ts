/** Fresh stores for one benchmark process: a PostgreSQL schema, a SQLite file. Each is removed at teardown. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { suffix } from "./harness.ts";

export const DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/test";

/** A fresh schema name on the benchmark server; `drop()` removes it with everything in it. */
export function pgSchema(pgUrl: string, prefix: string): { name: string; drop(): Promise<void> } {
  const name = `bench_${prefix}_${suffix()}`.toLowerCase().replace(/[^a-z0-9_]/g, "_");
  return {
    name,
    async drop() {
      const sql = postgres(pgUrl, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
  };
}

/** A fresh temporary directory for a SQLite file; `remove()` deletes it (database, -wal and -shm). */
export function sqliteDir(prefix: string): { path: string; file: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `bench-${prefix}-`));
  return { path, file: join(path, "bench.db"), remove: () => rmSync(path, { recursive: true, force: true }) };
}
