import { defineCommand } from "citty";
import type { LimitTarget } from "../core/types.ts";
import { limitJson } from "../observe/json.ts";
import { CONFIG_ARG, JSON_ARG, intFlag, withFlywheel } from "./context.ts";
import { printJson, table } from "./render.ts";
import { UsageError } from "./usage-error.ts";

// Limits from the command line (SPEC §18): `flywheel limits ls|set|clear`. Every node's claim keeps to them.

const targetArgs = {
  kind: { type: "string", description: "Limit every job of this kind" },
  queue: { type: "string", description: "Limit every job on this queue" },
} as const;

/** The `--kind` or `--queue` of a command line: exactly one. */
function targetOf(args: { kind?: unknown; queue?: unknown }): LimitTarget {
  if ((args.kind === undefined) === (args.queue === undefined)) throw new UsageError("give exactly one of --kind <name> or --queue <name>");
  return args.kind !== undefined ? { kind: String(args.kind) } : { queue: String(args.queue) };
}

const ls = defineCommand({
  meta: {
    name: "ls",
    description: "List limits: per kind or queue, how many run at once and how many start per window",
    examples: ["flywheel limits ls", "flywheel limits ls --json"],
  },
  args: { ...CONFIG_ARG, ...JSON_ARG },
  async run({ args }) {
    await withFlywheel(args, async (fw) => {
      const limits = await fw.listLimits();
      if (args.json) return printJson(limits.map(limitJson));
      console.log(table(["scope", "name", "concurrency", "rate"], limits.map((l) => [l.scope, l.name, l.concurrency === null ? "-" : String(l.concurrency), l.rate ?? "-"])));
    });
  },
});

const set = defineCommand({
  meta: {
    name: "set",
    description: "Set (or replace) a kind's or queue's limit on every node",
    examples: ["flywheel limits set --kind send_email --concurrency 5 --rate 100/1m", "flywheel limits set --queue reports --concurrency 1"],
  },
  args: {
    ...targetArgs,
    concurrency: { type: "string", valueHint: "n", description: "At most this many of its jobs run at once" },
    rate: { type: "string", valueHint: "count/duration", description: "At most this many attempts start in any such window, e.g. 100/1m" },
    ...CONFIG_ARG,
    ...JSON_ARG,
  },
  async run({ args }) {
    const target = targetOf(args);
    const concurrency = intFlag(args.concurrency, "concurrency", 1);
    const rate = args.rate === undefined ? undefined : String(args.rate);
    if (concurrency === undefined && rate === undefined) throw new UsageError("give --concurrency <n>, --rate <count/duration>, or both");
    await withFlywheel(args, async (fw) => {
      const limit = await fw.setLimit(target, { concurrency, rate });
      if (args.json) return printJson(limitJson(limit));
      const caps = [limit.concurrency === null ? null : `${limit.concurrency} at once`, limit.rate === null ? null : `${limit.rate} starts`].filter(Boolean);
      console.log(`limited ${limit.scope} ${limit.name} to ${caps.join(", ")}`);
    });
  },
});

const clear = defineCommand({
  meta: {
    name: "clear",
    description: "Remove a kind's or queue's limit; its jobs are claimable at once",
    examples: ["flywheel limits clear --kind send_email"],
  },
  args: { ...targetArgs, ...CONFIG_ARG, ...JSON_ARG },
  async run({ args }) {
    const target = targetOf(args);
    await withFlywheel(args, async (fw) => {
      const removed = await fw.clearLimit(target);
      const [scope, name] = "kind" in target ? ["kind", target.kind] : ["queue", target.queue];
      if (args.json) return printJson({ scope, name, removed });
      console.log(removed ? `cleared the limit of ${scope} ${name}` : `${scope} ${name} had no limit`);
    });
  },
});

/** `flywheel limits ls|set|clear`. */
export default defineCommand({
  meta: {
    name: "limits",
    description: "List, set and clear limits per kind or queue (concurrency, rate)",
    examples: ["flywheel limits ls", "flywheel limits set --kind send_email --concurrency 5"],
  },
  subCommands: { ls, set, clear },
});
