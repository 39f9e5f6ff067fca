import { defineCommand } from "citty";
import { CONFIG_ARG, JSON_ARG, jsonValueArg, withFlywheel } from "./context.ts";
import { printJson } from "./render.ts";

/**
 * `flywheel emit <id> <name> [json]`: emit an event to a workflow run (SPEC §17). A run that waits for it wakes;
 * one that has not reached its wait yet gets it when it does. Unknown ids and finished runs exit 1.
 */
export default defineCommand({
  meta: {
    name: "emit",
    description: "Emit an event to a workflow run (a run waiting for it wakes)",
    examples: [`flywheel emit 0193a1b2 approval '{"by":"ann"}'`, "flywheel emit 0193a1b2-7c1e-7a4b-9d2f-1e2d3c4b5a69 cancelled"],
  },
  args: {
    id: { type: "positional", description: "The workflow run's job id, or a unique prefix of it (8+ characters)", required: true },
    name: { type: "positional", description: "Event name", required: true },
    payload: { type: "positional", description: "Payload as JSON (any JSON value)", required: false },
    ...CONFIG_ARG,
    ...JSON_ARG,
  },
  async run({ args }) {
    const payload = jsonValueArg(args.payload, "payload");
    await withFlywheel(args, async (fw) => {
      const id = await fw.resolveJobId(String(args.id));
      await fw.emit(id, String(args.name), payload, { actor: "cli" });
      const job = await fw.findJob(id);
      if (args.json) return printJson({ id, name: String(args.name), state: job.state });
      console.log(`emitted ${String(args.name)} to ${id} (now ${job.state})`);
    });
  },
});
