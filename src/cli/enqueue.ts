import { defineCommand } from "citty";
import { AlreadyEnqueuedError, ValidationError } from "../core/errors.ts";
import type { InsertOptions } from "../core/types.ts";
import { CONFIG_ARG, JSON_ARG, commandArgsFromCli, durationFlag, intFlag, jsonObjectArg, withFlywheel } from "./context.ts";
import { UsageError } from "./usage-error.ts";
import { printJson } from "./render.ts";

/**
 * `flywheel enqueue <kind> [json]`: insert one job and print its id. A unique-key collision is not an error:
 * it prints `already enqueued: <existing id>` and exits 0, so scripts can enqueue idempotently.
 * `--json` prints `{ id, enqueued }` (`enqueued: false` on a collision).
 */
export default defineCommand({
  meta: {
    name: "enqueue",
    description: "Enqueue a job; prints its id",
    examples: [
      `flywheel enqueue shell '{"inline":"echo hi"}'`,
      `flywheel enqueue exec '{"command":"pg_dump","args":["-f","/backups/db.sql"]}' --in 10m --max-attempts 3`,
      `flywheel enqueue send_invoice '{"id":42}' --queue mail --unique invoice-42`,
    ],
  },
  args: {
    kind: { type: "positional", description: "Worker kind: exec, shell, python, mage, http, or your own", required: true },
    args: { type: "positional", description: "Job args as a JSON object", required: false },
    queue: { type: "string", description: "Queue (default: default)" },
    priority: { type: "string", valueHint: "n", description: "Lower runs first (default 100)" },
    unique: { type: "string", valueHint: "key", description: "Unique key: refuse if any job ever had it" },
    "unique-active": { type: "string", valueHint: "key", description: "Unique while a job holding it is not finished" },
    at: { type: "string", valueHint: "iso-time", description: "Run at this time, e.g. 2026-03-08T06:00:00Z" },
    in: { type: "string", valueHint: "duration", description: "Run after this delay, e.g. 10m" },
    "max-attempts": { type: "string", valueHint: "n", description: "Attempts before the job is discarded (default 25)" },
    timeout: { type: "string", valueHint: "duration", description: "Runtime deadline per attempt (default: from timeout_seconds, else 30m)" },
    ...CONFIG_ARG,
    ...JSON_ARG,
  },
  async run({ args }) {
    const kind = String(args.kind);
    const options: InsertOptions = {
      queue: args.queue !== undefined ? String(args.queue) : undefined,
      priority: intFlag(args.priority, "priority"),
      uniqueKey: args.unique !== undefined ? String(args.unique) : undefined,
      uniqueActiveKey: args["unique-active"] !== undefined ? String(args["unique-active"]) : undefined,
      maxAttempts: intFlag(args["max-attempts"], "max-attempts", 1),
    };
    if (args.at !== undefined && args.in !== undefined) throw new UsageError("give at most one of --at and --in");
    if (args.at !== undefined) {
      const at = new Date(String(args.at));
      if (Number.isNaN(at.getTime())) throw new UsageError(`--at: expected an ISO-8601 time such as 2026-03-08T06:00:00Z, got ${JSON.stringify(args.at)}`);
      options.scheduleAt = at;
    }
    if (args.in !== undefined) options.delay = durationFlag(args.in, "in");
    if (args.timeout !== undefined) options.timeout = durationFlag(args.timeout, "timeout");

    await withFlywheel(args, async (fw, config) => {
      const checked = commandArgsFromCli(kind, jsonObjectArg(args.args, "args"), "args", config.runtime.killGraceMs);
      options.timeout ??= checked.timeoutMs;
      let id: string;
      try {
        id = await fw.insert(kind, checked.args, { ...options, actor: "cli" });
      } catch (error) {
        if (error instanceof AlreadyEnqueuedError) {
          if (args.json) printJson({ id: error.existingId, enqueued: false });
          else console.log(`already enqueued: ${error.existingId}`);
          return;
        }
        if (error instanceof ValidationError) throw new UsageError(error.message);
        throw error;
      }
      if (args.json) printJson({ id, enqueued: true });
      else console.log(id);
    });
  },
});
