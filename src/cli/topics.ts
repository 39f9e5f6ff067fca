import { defineCommand } from "citty";
import { CONFIG_ARG, JSON_ARG, jsonObjectArg, jsonValueArg, withFlywheel } from "./context.ts";
import { printJson, table } from "./render.ts";
import { bindingJson } from "../observe/json.ts";

// Topics from the command line (SPEC §18): `flywheel publish`, and `flywheel bindings ls|add|rm`.

const patternArgs = {
  pattern: { type: "positional", description: "Topic pattern: words joined by dots; * is one word, # any number", required: true },
  kind: { type: "positional", description: "The kind its jobs run as", required: true },
} as const;

/** `flywheel publish <topic> [json]`: one job per matching binding; prints their ids. */
export const publish = defineCommand({
  meta: {
    name: "publish",
    description: "Publish a payload on a topic: one job per matching binding; prints their ids",
    examples: [`flywheel publish orders.eu.paid '{"id":7}'`, `flywheel publish orders.eu.paid '{"id":7}' --unique order-7-paid`],
  },
  args: {
    topic: { type: "positional", description: "Topic: words of letters, digits, _ and - joined by dots", required: true },
    payload: { type: "positional", description: "Payload as JSON (any JSON value)", required: false },
    unique: { type: "string", valueHint: "key", description: "Idempotency key: publishing it again enqueues nothing new" },
    ...CONFIG_ARG,
    ...JSON_ARG,
  },
  async run({ args }) {
    const payload = jsonValueArg(args.payload, "payload");
    await withFlywheel(args, async (fw) => {
      const ids = await fw.publish(String(args.topic), payload, { uniqueKey: args.unique === undefined ? undefined : String(args.unique), actor: "cli" });
      if (args.json) return printJson({ topic: String(args.topic), jobs: ids });
      console.log(ids.length === 0 ? `no binding matches ${String(args.topic)}: nothing enqueued` : ids.join("\n"));
    });
  },
});

const ls = defineCommand({
  meta: { name: "ls", description: "List topic bindings", examples: ["flywheel bindings ls"] },
  args: { ...CONFIG_ARG, ...JSON_ARG },
  async run({ args }) {
    await withFlywheel(args, async (fw) => {
      const bindings = await fw.listBindings();
      if (args.json) return printJson(bindings.map(bindingJson));
      console.log(table(["pattern", "kind", "queue", "source", "args"], bindings.map((b) => [b.pattern, b.kind, b.queue ?? "-", b.source, b.args === null ? "{ topic, payload }" : JSON.stringify(b.args)])));
    });
  },
});

const add = defineCommand({
  meta: {
    name: "add",
    description: "Bind a topic pattern to a kind",
    examples: ["flywheel bindings add 'orders.*.paid' ship_order --queue shipping", "flywheel bindings add 'audit.#' audit_log"],
  },
  args: {
    ...patternArgs,
    queue: { type: "string", description: "Queue for its jobs (default: the kind's)" },
    args: { type: "string", valueHint: "json", description: "Args for its jobs instead of { topic, payload }" },
    ...CONFIG_ARG,
    ...JSON_ARG,
  },
  async run({ args }) {
    const jobArgs = args.args === undefined ? undefined : jsonObjectArg(args.args, "--args");
    await withFlywheel(args, async (fw) => {
      const binding = await fw.bind(String(args.pattern), { kind: String(args.kind), queue: args.queue === undefined ? undefined : String(args.queue), args: jobArgs }, { source: "cli" });
      if (args.json) return printJson(bindingJson(binding));
      console.log(`bound ${binding.pattern} to ${binding.kind}`);
    });
  },
});

const rm = defineCommand({
  meta: { name: "rm", description: "Remove a topic binding", examples: ["flywheel bindings rm 'orders.*.paid' ship_order"] },
  args: { ...patternArgs, ...CONFIG_ARG, ...JSON_ARG },
  async run({ args }) {
    await withFlywheel(args, async (fw) => {
      const removed = await fw.unbind(String(args.pattern), String(args.kind));
      if (args.json) return printJson({ pattern: String(args.pattern), kind: String(args.kind), removed });
      console.log(removed ? `unbound ${String(args.pattern)} from ${String(args.kind)}` : `no binding of ${String(args.pattern)} to ${String(args.kind)}`);
    });
  },
});

/** `flywheel bindings ls|add|rm`. */
export const bindings = defineCommand({
  meta: { name: "bindings", description: "List, add and remove topic bindings", examples: ["flywheel bindings ls", "flywheel bindings add 'orders.*.paid' ship_order"] },
  subCommands: { ls, add, rm },
});
