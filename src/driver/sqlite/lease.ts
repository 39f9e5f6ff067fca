import type { Database } from "bun:sqlite";
import type { Row } from "../decode.ts";
import type { ExpiredLease, LeaseRef } from "../types.ts";
import { decode } from "./codec.ts";

/**
 * Extends the leases still held (token matches, job still running) to `leasedUntil`, inside the caller's
 * transaction; returns the ids still held. `MAX` keeps a renewal from moving a lease backwards when an older
 * renewal lands after a newer one.
 */
export function renewLeases(db: Database, p: { leases: LeaseRef[]; leasedUntil: Date; now: Date }): Set<string> {
  const held = new Set<string>();
  const renew = db.query(
    "UPDATE jobs SET leased_until = MAX(leased_until, ?), updated_at = ? WHERE id = ? AND lease_token = ? AND state = 'running' RETURNING id",
  );
  for (const lease of p.leases) {
    const row = renew.get(p.leasedUntil.getTime(), p.now.getTime(), lease.jobId, lease.leaseToken) as Row | null;
    if (row) held.add(row.id);
  }
  return held;
}

/**
 * Running jobs whose lease expired before ?1, oldest expiry first (a walk of `jobs_sweep`), at most ?2, each
 * with the `started` run of its current attempt, found through the (job_id, attempt) unique index.
 */
export const EXPIRED_LEASES_SQL = `SELECT j.id, j.kind, j.queue, j.attempt, j.max_attempts, j.lease_token, j.leased_until, r.id AS run_id, r.started_at
  FROM jobs j LEFT JOIN job_runs r ON r.job_id = j.id AND r.attempt = j.attempt AND r.outcome = 'started'
  WHERE j.state = 'running' AND j.leased_until < ?1 ORDER BY j.leased_until LIMIT ?2`;

/** Up to `limit` running jobs whose lease expired before `now`, with their open run ({@link EXPIRED_LEASES_SQL}). */
export function listExpiredLeases(db: Database, p: { now: Date; limit: number }): ExpiredLease[] {
  const rows = db.query(EXPIRED_LEASES_SQL).all(p.now.getTime(), p.limit) as Row[];
  return rows.map(decode.expiredLease);
}
