import { JOB_DEFAULTS } from "../../core/defaults.ts";
import type { ControlPlane, NodeInfo } from "../control.ts";
import { jsonResponse } from "../errors.ts";
import type { Route } from "../router.ts";
import type { Throughput } from "../throughput.ts";
import { failureJson, healthJson, kindJson, nodeJson, type OverviewResponse, type RegistryNodeJson, registryNodeJson } from "../wire.ts";
import { schedulesJson } from "./schedules.ts";

/** What the overview and node routes read besides the facade. */
export interface OverviewSources {
  node: NodeInfo;
  throughput: Throughput;
  /** Whether the API takes writes (a token is configured). */
  writable: boolean;
}

/** `GET /api/v1/overview` (everything the dashboard's first screen shows, in one answer) and `GET /api/v1/nodes` (the registry). */
export function overviewRoutes(control: ControlPlane, sources: OverviewSources): Route[] {
  const node = () => nodeJson(control.executorId, sources.node, sources.writable);
  // Every live node from the registry; `self` marks the one answering.
  const registry = async (): Promise<RegistryNodeJson[]> =>
    (await control.listNodes()).map((n) => ({ ...registryNodeJson(n), self: n.executorId === control.executorId }));
  return [
    {
      method: "GET",
      pattern: "/api/v1/overview",
      async handler() {
        const [schedules, health, counts, failures, nodes] = await Promise.all([
          schedulesJson(control),
          control.queueHealth(),
          control.overview(),
          control.recentFailures(),
          registry(),
        ]);
        // The queues worth a row: this node's, its workers' and its schedules' (a queue list arrives with SPEC §18).
        const names = new Set([...sources.node.queues, JOB_DEFAULTS.queue, ...schedules.map((s) => s.queue)]);
        for (const kind of control.kinds) {
          const queue = control.worker(kind)?.queue;
          if (queue) names.add(queue);
        }
        const queues = await Promise.all([...names].sort().map(async (name) => ({ name, ...healthJson(await control.queueHealth({ queues: [name] })) })));
        return jsonResponse({
          node: node(),
          kinds: control.kinds.map((kind) => kindJson(kind, control.worker(kind))),
          health: healthJson(health),
          queues,
          counts,
          schedules,
          failures: failures.map(failureJson),
          throughput: sources.throughput.snapshot(),
          nodes,
        } satisfies OverviewResponse);
      },
    },
    {
      method: "GET",
      pattern: "/api/v1/nodes",
      async handler() {
        return jsonResponse({ nodes: await registry() });
      },
    },
  ];
}
