import { JOB_DEFAULTS } from "../../core/defaults.ts";
import type { ControlPlane, NodeInfo } from "../control.ts";
import { jsonResponse } from "../errors.ts";
import { censusByKind, censusHealth, type OverviewSamples } from "../overview-sample.ts";
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
  /** The counts, queue health and recent failures: one sample of each for every client. */
  samples: OverviewSamples;
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
        const started = performance.now();
        const [schedules, sample, failures, nodes, paused] = await Promise.all([
          schedulesJson(control),
          sources.samples.census.get(),
          sources.samples.failures.get(),
          registry(),
          // Read fresh, not sampled: a pause from the dashboard shows on its next load.
          control.pausedQueues(),
        ]);
        const now = control.clock.now();
        // The queues worth a row: this node's, its workers' and schedules', every queue holding jobs, every paused one.
        const names = new Set([...sources.node.queues, JOB_DEFAULTS.queue, ...schedules.map((s) => s.queue), ...sample.value.map((r) => r.queue)]);
        for (const kind of control.kinds) {
          const queue = control.worker(kind)?.queue;
          if (queue) names.add(queue);
        }
        const pausedBy = new Map(paused.map((q) => [q.name, q.pausedBy]));
        for (const name of pausedBy.keys()) names.add(name);
        const queues = [...names].sort().map((name) => ({
          name,
          paused: pausedBy.has(name),
          paused_by: pausedBy.get(name) ?? null,
          ...healthJson(censusHealth(sample, now, [name])),
        }));
        const response = jsonResponse({
          node: node(),
          kinds: control.kinds.map((kind) => kindJson(kind, control.worker(kind))),
          health: healthJson(censusHealth(sample, now)),
          queues,
          counts: censusByKind(sample),
          schedules,
          failures: failures.value.map(failureJson),
          throughput: sources.throughput.snapshot(),
          nodes,
        } satisfies OverviewResponse);
        // What answering took inside the node (reads, JSON), apart from the network and the wait for a turn of the
        // event loop: the part a slow overview would be fixed in.
        response.headers.set("server-timing", `overview;dur=${(performance.now() - started).toFixed(1)}`);
        return response;
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
