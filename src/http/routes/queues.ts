import type { ControlPlane } from "../control.ts";
import { jsonResponse } from "../errors.ts";
import type { ApiRequest, Route } from "../router.ts";
import { queueJson } from "../wire.ts";

/** `/api/v1/queues…`: list every queue; pause and resume one on every node (SPEC §18). */
export function queueRoutes(control: ControlPlane): Route[] {
  const one = async (name: string, changed: boolean) => {
    const queue = (await control.listQueues()).find((q) => q.name === name);
    return jsonResponse({ queue: queue ? queueJson(queue) : null, changed });
  };
  const toggle = (pause: boolean) => async (req: ApiRequest) => {
    const name = req.params.name!;
    // The API's writes name their actor: `api`, so `queues ls` tells them from an operator's at the CLI.
    const changed = pause ? await control.pauseQueue(name, { by: "api" }) : await control.resumeQueue(name);
    return one(name, changed);
  };
  return [
    {
      method: "GET",
      pattern: "/api/v1/queues",
      async handler() {
        return jsonResponse({ queues: (await control.listQueues()).map(queueJson) });
      },
    },
    { method: "POST", pattern: "/api/v1/queues/:name/pause", handler: toggle(true) },
    { method: "POST", pattern: "/api/v1/queues/:name/resume", handler: toggle(false) },
  ];
}
