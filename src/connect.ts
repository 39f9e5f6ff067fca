import type { Database } from "bun:sqlite";
import type { Sql } from "postgres";
import { FlywheelError } from "./core/errors.ts";
import type { PostgresExecutor } from "./driver/postgres/index.ts";
import { SqliteDriver } from "./driver/sqlite/index.ts";
import type { Driver } from "./driver/types.ts";
import { Flywheel, type FlywheelOptions } from "./flywheel.ts";

/** The outbox transaction on SQLite: the bun:sqlite `Database` whose `db.transaction(…)` is running. */
export type SqliteTx = Database;
/** The outbox transaction on PostgreSQL: a postgres.js transaction (`sql.begin(tx => …)`) or handle. */
export type PostgresTx = PostgresExecutor;

/** Where to connect: a URL (`sqlite:./app.db`, `sqlite::memory:`, `postgres://…?schema=…`) or an open handle. */
export type ConnectTarget = string | { sqlite: Database } | { postgres: Sql<any> };

/**
 * Options for {@link connect}. `{}` means: system clock, silent logger, PostgreSQL schema `flywheel` and a pool
 * of 10, SQLite `synchronous=NORMAL` (see `src/core/defaults.ts`).
 */
export interface ConnectOptions extends FlywheelOptions {
  /** PostgreSQL schema for flywheel's tables (default `flywheel`). */
  schema?: string;
  /** SQLite durability: `full` survives power loss, `normal` (default) survives process crashes. */
  synchronous?: "normal" | "full";
  /** SQLite: how often to look for other processes' commits (ms). */
  wakePollMs?: number;
  /** PostgreSQL: pool size when flywheel opens the connection (default 10). */
  maxConnections?: number;
}

/**
 * Opens flywheel on a database. The client's type carries the dialect's transaction type, so `insert(…, { tx })`
 * accepts exactly what the dialect can join.
 * @example
 * const fw = await connect("sqlite:./app.db");
 * await fw.migrate();
 */
export function connect(target: `sqlite:${string}` | { sqlite: Database }, options?: ConnectOptions): Promise<Flywheel<SqliteTx>>;
export function connect(
  target: `postgres://${string}` | `postgresql://${string}` | { postgres: Sql<any> },
  options?: ConnectOptions,
): Promise<Flywheel<PostgresTx>>;
export function connect(target: ConnectTarget, options?: ConnectOptions): Promise<Flywheel>;
export async function connect(target: ConnectTarget, options: ConnectOptions = {}): Promise<Flywheel<any>> {
  return new Flywheel(await openDriver(target, options), options);
}

async function openDriver(target: ConnectTarget, options: ConnectOptions): Promise<Driver<any>> {
  const sqliteOptions = { synchronous: options.synchronous, wakePollMs: options.wakePollMs };
  if (typeof target === "string") {
    if (target.startsWith("sqlite:")) {
      let path = target.slice("sqlite:".length);
      if (path.startsWith("//")) path = path.slice(2);
      if (path === "") throw new FlywheelError("config_invalid", "flywheel: sqlite URL needs a path, e.g. sqlite:./app.db or sqlite::memory:");
      return SqliteDriver.open(path, sqliteOptions);
    }
    if (/^postgres(ql)?:\/\//.test(target)) {
      // Loaded on demand: a SQLite-only app (and `flywheel version`) never pays for postgres.js.
      const { PostgresDriver } = await import("./driver/postgres/index.ts");
      return PostgresDriver.open(target, { schema: options.schema, max: options.maxConnections });
    }
    throw new FlywheelError("config_invalid", `flywheel: unsupported database URL ${JSON.stringify(target)}: expected sqlite:PATH or postgres://…`);
  }
  if ("sqlite" in target) return new SqliteDriver(target.sqlite, { ...sqliteOptions, ownsDatabase: false });
  const { PostgresDriver } = await import("./driver/postgres/index.ts");
  return new PostgresDriver(target.postgres, { schema: options.schema, ownsSql: false });
}
