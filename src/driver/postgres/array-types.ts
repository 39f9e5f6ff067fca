import type postgres from "postgres";

/**
 * postgres.js reads the server's array types (`fetch_types`) on every new connection, from a promise nothing
 * handles: a connection killed during that read (a server restart, `pg_terminate_backend`, a failover) leaves an
 * unhandled rejection, and Bun then exits 1 however cleanly the node stopped. The types are the same on every
 * connection, and the pool and the job lane share the parsers the first read filled (the lane is opened from the
 * pool's options), so once a read has landed, later connections of `instances` need not read them again.
 * @returns whether the types were known, and the reads turned off.
 */
export function skipTypeReadsOnceKnown(known: postgres.Sql<any>, instances: Array<postgres.Sql<any>>): boolean {
  const shared = (known.options as { shared?: { typeArrayMap?: Record<string, unknown> } }).shared;
  if (Object.keys(shared?.typeArrayMap ?? {}).length === 0) return false;
  for (const sql of instances) (sql.options as { fetch_types: boolean }).fetch_types = false;
  return true;
}
