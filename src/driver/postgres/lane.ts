/**
 * The job lane: a few connections the job path (claims, finalizes, lease renewals) keeps to itself.
 *
 * postgres.js hands each statement to the connection idle longest, so on a pool that other reads once widened (an
 * open dashboard, `/metrics`, an app's own queries through a shared handle) consecutive claims and finalizes visit
 * every backend in turn, and each backend keeps its own prepared plans and caches cold: with ten connections open
 * the drain ran 30 % slower (docs/BENCHMARKS.md, "Does an open dashboard slow the job path?"). Two connections of
 * their own keep the job path warm and still let a claim and a finalize run at once.
 */
import postgres from "postgres";

/** Connections the job path keeps to itself, beside a pool of more than this many. */
export const JOB_LANE_CONNECTIONS = 2;

/**
 * Opens the job lane beside the pool `sql`: up to {@link JOB_LANE_CONNECTIONS} more connections with its settings.
 * They come on top of the pool's `max`, not out of it, so a small pool is never starved by them; a pool of two or
 * fewer connections is already as narrow as a lane, and is its own (`sql` itself).
 */
export function openLane(sql: postgres.Sql<any>): postgres.Sql<any> {
  if (Number(sql.options?.max ?? 0) <= JOB_LANE_CONNECTIONS) return sql;
  // postgres.js takes its own parsed options back as they are (they carry `shared`), as its `LISTEN` connection does.
  return postgres({ ...(sql.options as unknown as postgres.Options<any>), max: JOB_LANE_CONNECTIONS });
}
