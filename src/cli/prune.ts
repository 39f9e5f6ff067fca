import { defineCommand } from "citty";
import { formatDuration } from "../core/duration.ts";
import { CONFIG_ARG, JSON_ARG, durationFlag, withFlywheel } from "./context.ts";
import { printJson } from "./render.ts";

/**
 * `flywheel prune --older-than 14d [--dry-run]`: hard-delete finished jobs (succeeded, cancelled, discarded)
 * finalized longer ago than the given age, with their runs. Unfinished jobs are never touched. `--dry-run` counts
 * what would go, per state, and deletes nothing. `--json` prints `{ deleted }`, or `{ dry_run, would_delete, by_state }`.
 */
export default defineCommand({
  meta: {
    name: "prune",
    description: "Delete finished jobs (and their runs) older than an age",
    examples: ["flywheel prune --older-than 14d", "flywheel prune --older-than 30d --dry-run"],
  },
  args: {
    "older-than": { type: "string", valueHint: "duration", description: "Age with a unit, e.g. 14d or 12h", required: true },
    "dry-run": { type: "boolean", description: "Print what would be deleted; delete nothing" },
    ...CONFIG_ARG,
    ...JSON_ARG,
  },
  async run({ args }) {
    const olderThan = durationFlag(args["older-than"], "older-than");
    const age = formatDuration(olderThan);
    await withFlywheel(args, async (fw) => {
      if (args["dry-run"]) {
        const counts = await fw.countFinishedJobs({ olderThan });
        const total = counts.reduce((n, c) => n + c.count, 0);
        if (args.json) return printJson({ dry_run: true, would_delete: total, by_state: Object.fromEntries(counts.map((c) => [c.state, c.count])) });
        const detail = counts.length > 0 ? ` (${counts.map((c) => `${c.state} ${c.count}`).join(", ")})` : "";
        return console.log(`would delete ${total} finished job${total === 1 ? "" : "s"} older than ${age}${detail}; nothing deleted (dry run)`);
      }
      const deleted = await fw.deleteFinishedJobs({ olderThan });
      if (args.json) printJson({ deleted });
      else console.log(`deleted ${deleted} finished job${deleted === 1 ? "" : "s"} older than ${age}`);
    });
  },
});
