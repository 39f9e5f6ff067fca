import type { ExpiredLease, LeaseRef } from "../types.ts";
import type { PgContext } from "./context.ts";
import { decode } from "./codec.ts";
import { literalLimit } from "./params.ts";

/** Extends the leases still held (matching token, still running), never moving one backwards; returns the ids still held. */
export async function leaseRenew(ctx: PgContext, p: { leases: LeaseRef[]; leasedUntil: Date; now: Date }): Promise<Set<string>> {
  if (p.leases.length === 0) return new Set();
  const rows = await ctx.query(
    `UPDATE ${ctx.t.jobs} j SET leased_until = GREATEST(j.leased_until, $1), updated_at = $2
     FROM unnest($3::text[], $4::text[]) AS v(id, token)
     WHERE j.id = ANY($3::text[]) AND j.id = v.id AND j.lease_token = v.token AND j.state = 'running'
     RETURNING j.id`,
    [p.leasedUntil, p.now, p.leases.map((l) => l.jobId), p.leases.map((l) => l.leaseToken)],
    { jobPath: true },
  );
  return new Set(rows.map((r) => r.id as string));
}

/**
 * Up to `limit` running jobs whose lease expired before `now`, oldest expiry first (a walk of `jobs_sweep`),
 * each with the `started` run of its current attempt. Nothing is locked: the finalize that follows is fenced on
 * the lease still being expired, so a lease renewed in between is left alone, and of several sweepers listing
 * the same job only one advances it. The limit is literal for the reason `literalLimit` gives.
 */
export async function leaseListExpired(ctx: PgContext, p: { now: Date; limit: number }): Promise<ExpiredLease[]> {
  const rows = await ctx.query(
    `SELECT j.id, j.kind, j.queue, j.attempt, j.max_attempts, j.lease_token, j.leased_until, r.id AS run_id, r.started_at
     FROM (
       SELECT id, kind, queue, attempt, max_attempts, lease_token, leased_until FROM ${ctx.t.jobs}
       WHERE state = 'running' AND leased_until < $1 ORDER BY leased_until LIMIT ${literalLimit(p.limit)}
     ) j
     LEFT JOIN ${ctx.t.runs} r ON r.job_id = j.id AND r.attempt = j.attempt AND r.outcome = 'started'
     ORDER BY j.leased_until`,
    [p.now],
  );
  return rows.map(decode.expiredLease);
}
