import { defineCommand } from "citty";
import { formatDuration } from "../core/duration.ts";
import { CONFIG_ARG, JSON_ARG, durationFlag, withFlywheel } from "./context.ts";
import { printJson } from "./render.ts";

/**
 * `flywheel prune --older-than 14d`: hard-delete finished jobs (succeeded, cancelled, discarded) finalized
 * longer ago than the given age, with their runs. Unfinished jobs are never touched. `--json` prints `{ deleted }`.
 */
export default defineCommand({
  meta: {
    name: "prune",
    description: "Delete finished jobs (and their runs) older than an age",
    examples: ["flywheel prune --older-than 14d", "flywheel prune --older-than 30d --dry-run"],
  },
  args: {
    "older-than": { type: "string", valueHint: "duration", description: "Age, e.g. 14d", required: true },
    ...CONFIG_ARG,
    ...JSON_ARG,
  },
  async run({ args }) {
    const olderThan = durationFlag(args["older-than"], "older-than");
    await withFlywheel(args, async (fw) => {
      const deleted = await fw.deleteFinishedJobs({ olderThan });
      if (args.json) printJson({ deleted });
      else console.log(`deleted ${deleted} finished job${deleted === 1 ? "" : "s"} older than ${formatDuration(olderThan)}`);
    });
  },
});
