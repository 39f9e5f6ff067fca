import { defineCommand } from "citty";
import { CONFIG_ARG, JSON_ARG, withFlywheel } from "./context.ts";
import { coarse, formatTime, printJson, table } from "./render.ts";
import { queueJson } from "../observe/json.ts";

const nameArg = { name: { type: "positional", description: "Queue name", required: true } } as const;

const ls = defineCommand({
  meta: { name: "ls", description: "List queues: paused or not, jobs by state, lag", examples: ["flywheel queues ls"] },
  args: { ...CONFIG_ARG, ...JSON_ARG },
  async run({ args }) {
    await withFlywheel(args, async (fw) => {
      const queues = await fw.listQueues();
      if (args.json) return printJson(queues.map(queueJson));
      console.log(
        table(
          ["queue", "paused", "ready", "running", "scheduled", "retryable", "waiting", "failed", "lag"],
          queues.map((q) => [
            q.name,
            q.paused ? `since ${formatTime(q.pausedAt)} by ${q.pausedBy}` : "no",
            String(q.counts.available),
            String(q.counts.running),
            String(q.counts.scheduled),
            String(q.counts.retryable),
            String(q.counts.waiting),
            String(q.counts.discarded),
            q.oldestReadyAgeSeconds > 0 ? coarse(q.oldestReadyAgeSeconds * 1000) : "-",
          ]),
        ),
      );
    });
  },
});

/** `queues pause` and `queues resume`: one shape, the state they set differs. */
function toggle(name: "pause" | "resume") {
  return defineCommand({
    meta: {
      name,
      description: name === "pause" ? "Pause a queue on every node: nothing more is claimed from it; running jobs finish" : "Resume a paused queue",
      examples: [`flywheel queues ${name} mail`],
    },
    args: { ...nameArg, ...CONFIG_ARG, ...JSON_ARG },
    async run({ args }) {
      const queue = String(args.name);
      await withFlywheel(args, async (fw) => {
        const changed = name === "pause" ? await fw.pauseQueue(queue) : await fw.resumeQueue(queue);
        if (args.json) return printJson({ queue, paused: name === "pause", changed });
        console.log(changed ? `${name === "pause" ? "paused" : "resumed"} queue ${queue}` : `queue ${queue} was already ${name === "pause" ? "paused" : "running"}`);
      });
    },
  });
}

export default defineCommand({
  meta: { name: "queues", description: "List, pause and resume queues", examples: ["flywheel queues ls", "flywheel queues pause mail"] },
  subCommands: { ls, pause: toggle("pause"), resume: toggle("resume") },
});
