import { API_ACTOR, type ControlPlane } from "../control.ts";
import { validate } from "../body.ts";
import { jsonResponse } from "../errors.ts";
import type { Route } from "../router.ts";
import { TOPIC_PUBLISH } from "../schemas.ts";
import { bindingJson } from "../wire.ts";

/** `/api/v1/topics…`: publish on a topic (SPEC §18) and list the bindings it fans out through. */
export function topicRoutes(control: ControlPlane): Route[] {
  return [
    {
      method: "GET",
      pattern: "/api/v1/bindings",
      async handler() {
        return jsonResponse({ bindings: (await control.listBindings()).map(bindingJson) });
      },
    },
    {
      method: "POST",
      pattern: "/api/v1/topics/:topic",
      async handler(req) {
        const body = validate(TOPIC_PUBLISH, await req.body(), "body");
        const topic = req.params.topic!;
        const jobs = await control.publish(topic, body.payload ?? null, { uniqueKey: body.unique_key, actor: API_ACTOR });
        return jsonResponse({ topic, jobs }, 201);
      },
    },
  ];
}
