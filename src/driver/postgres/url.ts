import postgres from "postgres";
import { POSTGRES_DEFAULTS } from "../../core/defaults.ts";
import { FlywheelError } from "../../core/errors.ts";

/** The schema flywheel's tables live in when none is configured. */
export const DEFAULT_SCHEMA = POSTGRES_DEFAULTS.schema;

/** Room for the `_jobs` suffix of the notification channel inside PostgreSQL's 63-byte identifier limit. */
const MAX_SCHEMA_LENGTH = 58;

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

/**
 * Opens a pool on `url` for flywheel, and decides its schema. A `?schema=` query parameter names the schema (it
 * is removed before the URL reaches postgres.js, which would send it to the server as a setting); `options.schema`
 * may name it instead, but not differently. Other query parameters (`sslmode`, `application_name`, …) pass through.
 * Nothing touches the database until the first statement.
 */
export function openPool(url: string, options: { schema?: string; max?: number }): { sql: postgres.Sql<any>; schema: string } {
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
    max: options.max ?? POSTGRES_DEFAULTS.maxConnections,
    idle_timeout: POSTGRES_DEFAULTS.idleTimeoutSeconds,
    max_lifetime: POSTGRES_DEFAULTS.maxLifetimeSeconds,
    connect_timeout: POSTGRES_DEFAULTS.connectTimeoutSeconds,
    // NOTICEs (e.g. "schema already exists, skipping" from migrate) are not ours to print.
    onnotice: () => {},
    connection: { application_name: "flywheel" },
  });
  return { sql, schema };
}
