import type { Database } from "bun:sqlite";
import { claimCandidates, scopeToReadyQueues } from "../../src/driver/sqlite/claim.ts";
import type { Statement } from "../../src/driver/sqlite/codec.ts";
import { jobListStatement } from "../../src/driver/sqlite/read.ts";
import type { ClaimParams, JobListParams } from "../../src/driver/types.ts";

/** The `EXPLAIN QUERY PLAN` lines of a statement, one per line. */
export function explain(db: Database, statement: Statement): string {
  const rows = db.query(`EXPLAIN QUERY PLAN ${statement.sql}`).all(...statement.params) as Array<{ detail: string }>;
  return rows.map((r) => r.detail).join("\n");
}

/** The plan of the claim's candidate walk for `p`, scoped to the ready queues as the claim scopes it. */
export function explainClaim(db: Database, p: ClaimParams): string {
  return explain(db, claimCandidates(scopeToReadyQueues(db, p)));
}

/** The plan of `jobList` for `p`. */
export function explainJobList(db: Database, p: JobListParams): string {
  return explain(db, jobListStatement(p));
}
