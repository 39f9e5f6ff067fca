/**
 * PostgreSQL for tests: where it is, whether it answers, and throwaway schemas.
 *
 * `FLYWHEEL_TEST_DATABASE_URL` points at the server (default `postgres://postgres@127.0.0.1:5432/test`).
 * When it does not answer, PostgreSQL tests are skipped with one loud line, except under CI (`CI` set),
 * where a missing database fails the run instead of passing it silently.
 */
import postgres from "postgres";

/** The test server's URL. */
export const PG_URL = process.env.FLYWHEEL_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

let available: Promise<boolean> | null = null;

/**
 * Whether the test server answers (checked once per process). Throws under CI when it does not; otherwise
 * prints one `POSTGRES NOT AVAILABLE` line and returns false.
 */
export function pgAvailable(): Promise<boolean> {
  available ??= (async () => {
    const sql = adminSql({ connect_timeout: 3 });
    try {
      await sql`SELECT 1`;
      return true;
    } catch (error) {
      const line = `POSTGRES NOT AVAILABLE at ${redacted(PG_URL)}: skipping PostgreSQL tests (${(error as Error).message})`;
      if (process.env.CI) throw new Error(`${line.replace("skipping", "refusing to skip")} because CI is set`);
      console.warn(line);
      return false;
    } finally {
      await sql.end({ timeout: 1 });
    }
  })();
  return available;
}

/** The URL with any password masked, for log lines. */
function redacted(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, "$1***@");
}

/**
 * `describe.skipIf` / `test.skipIf` argument: true when PostgreSQL tests must be skipped. Top-level await in
 * the test file resolves it before tests are registered.
 * @example describe.skipIf(await pgMissing())("postgres: …", () => { … });
 */
export async function pgMissing(): Promise<boolean> {
  return !(await pgAvailable());
}

/** A postgres.js pool on the test server for assertions and setup, with notices silenced. */
export function adminSql(options: postgres.Options<{}> = {}): postgres.Sql<{}> {
  return postgres(PG_URL, { max: 4, onnotice: () => {}, idle_timeout: 5, ...options });
}

/** A unique schema name for one test: `fw_test_<random>`. */
export function randomSchema(): string {
  return `fw_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

/** A throwaway schema: its name, its `postgres://…?schema=` URL, and `drop()` (CASCADE, idempotent). */
export interface ThrowawaySchema {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** Reserves a fresh schema name (flywheel's migrate creates it) and returns how to drop it afterwards. */
export function throwawaySchema(): ThrowawaySchema {
  const name = randomSchema();
  const separator = PG_URL.includes("?") ? "&" : "?";
  return {
    name,
    url: `${PG_URL}${separator}schema=${name}`,
    async drop() {
      const sql = adminSql({ max: 1 });
      try {
        await sql.unsafe(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
      } finally {
        await sql.end({ timeout: 1 });
      }
    },
  };
}
