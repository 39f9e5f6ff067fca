import { defineCommand } from "citty";
import { CONFIG_ARG, JSON_ARG, withFlywheel } from "./context.ts";
import { formatRelative, formatTime, printJson, table } from "./render.ts";
import { nodeJson } from "../observe/json.ts";

const ls = defineCommand({
  meta: { name: "ls", description: "List the running nodes: host, pid, version, queues, last heartbeat", examples: ["flywheel nodes ls", "flywheel nodes ls --json"] },
  args: { ...CONFIG_ARG, ...JSON_ARG },
  async run({ args }) {
    await withFlywheel(args, async (fw) => {
      const nodes = await fw.listNodes();
      if (args.json) return printJson(nodes.map(nodeJson));
      const now = fw.clock.now();
      console.log(
        table(
          ["node", "host", "pid", "version", "queues", "started", "heartbeat"],
          nodes.map((n) => [n.id.slice(0, 8), n.host, String(n.pid), n.version, n.queues.join(",") || "-", formatTime(n.startedAt), formatRelative(n.heartbeatAt, now)]),
        ),
      );
    });
  },
});

export default defineCommand({
  meta: { name: "nodes", description: "The node registry: which nodes are alive", examples: ["flywheel nodes ls"] },
  subCommands: { ls },
});
