import { rowDecoders, type Row } from "../decode.ts";
import type { ClaimedJob } from "../types.ts";

/** bigint columns arrive as strings from postgres.js; every value flywheel stores fits a double. */
function num(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/** Rows to records. postgres.js hands back Dates, parsed jsonb and booleans already; bigints as strings. */
export const decode = rowDecoders({
  date: (value) => (value as Date | null | undefined) ?? null,
  json: (value) => value ?? null,
  int: num,
  bool: (value) => value === true,
});

/** A claimed row (the job's columns plus `run_id`, the stub the claim wrote) as a {@link ClaimedJob}. */
export function claimedJob(row: Row, startedAt: Date): ClaimedJob {
  return { ...decode.job(row), runId: row.run_id as string, startedAt };
}
