import { FlywheelError } from "../core/errors.ts";
import { CLAIMABLE_STATES, JOB_STATES, TERMINAL_STATES, isTerminal } from "../core/types.ts";

// Fragments both dialects spell the same way; each driver still owns its statements.

/** `'available','scheduled','retryable'`: for `state IN (…)` in claims and readiness counts. */
export const CLAIMABLE_SQL = CLAIMABLE_STATES.map((s) => `'${s}'`).join(",");

/**
 * `'available','scheduled','running','retryable'`: for `state IN (…)` where a job has not finished, the states a
 * `unique_active_key` is held in, spelled as the `jobs_unique_active_key` index's predicate spells them.
 */
export const ACTIVE_SQL = JOB_STATES.filter((s) => !isTerminal(s))
  .map((s) => `'${s}'`)
  .join(",");

/** `'succeeded','cancelled','discarded'`: for `state IN (…)` where a job has finished. */
export const TERMINAL_SQL = TERMINAL_STATES.map((s) => `'${s}'`).join(",");

/** The states the partial index `jobs_failed` holds, spelled as its `WHERE` spells them. */
const FAILED_STATES = ["discarded", "cancelled"];

/**
 * The extra condition that lets a listing filtered to one state use `jobs_failed`: a planner only takes a
 * partial index when the query repeats the index's condition (SQLite literally; PostgreSQL's generic plans,
 * which cannot see a bound state, too). None for other states.
 */
export function failedIndexHint(state: string | undefined): string[] {
  return state !== undefined && FAILED_STATES.includes(state) ? [`state IN (${FAILED_STATES.map((s) => `'${s}'`).join(", ")})`] : [];
}

/** The error `migrate` raises when the database was migrated by a newer flywheel. */
export function schemaTooNew(current: number, latest: number): FlywheelError {
  return new FlywheelError(
    "schema_too_new",
    `flywheel: the database schema is version ${current} but this flywheel knows only up to ${latest}; upgrade flywheel`,
  );
}
