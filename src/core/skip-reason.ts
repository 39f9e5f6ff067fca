import type { CatchUp } from "./types.ts";

// The words a periodic's `last_skip_reason` records (SPEC §7.2: dropped fires are never silently lost). Each
// starts with the setting that dropped the fires, so `schedule ls`, alerts and metrics can group by it, and
// then says what happened, so an operator reading `status` need not look the setting up.

/** The reason recorded when a fire was skipped because the schedule's previous run was still active (`overlap: skip`). */
export const OVERLAP_SKIP_REASON = "overlap=skip: the previous run was still queued or running";

/** The reason recorded when a periodic's catch-up policy dropped missed fires. */
export function catchUpSkipReason(catchUp: CatchUp, backfill: number): string {
  switch (catchUp) {
    case "latest":
      return "catch_up=latest: missed fires before the latest were dropped";
    case "none":
      return "catch_up=none: missed fires were dropped";
    case "all":
      return `catch_up=all: missed fires beyond backfill=${backfill} were dropped`;
  }
}
