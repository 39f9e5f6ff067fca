import type { HTMLBundle, Server } from "bun";
import { readJsonBody } from "./body.ts";
import type { ControlPlane, NodeInfo } from "./control.ts";
import dashboard from "./dashboard/index.html";
import { errorResponse } from "./errors.ts";
import { EventStream, type EventStreamOptions } from "./event-stream.ts";
import { RequestGuard } from "./guard.ts";
import { HTTP_API_DEFAULTS } from "../core/defaults.ts";
import type { ControlPlaneSettings } from "./options.ts";
import { matchRoute, type Route } from "./router.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { overviewSamples } from "./overview-sample.ts";
import { overviewRoutes } from "./routes/overview.ts";
import { queueRoutes } from "./routes/queues.ts";
import { scheduleRoutes } from "./routes/schedules.ts";
import { topicRoutes } from "./routes/topics.ts";
import { Throughput } from "./throughput.ts";

/** What a node's HTTP server mounts for the control plane. */
export interface ControlPlaneServer {
  /**
   * Routes for `Bun.serve({ routes })`: the dashboard page at `/` when it is on. Bun bundles the page and its
   * scripts (at build time inside the compiled binary, on first request from source) and serves the bundle's
   * files next to it.
   */
  routes: Record<string, HTMLBundle>;
  /** Answers a request under `/api/`, or returns null for any other path. */
  handle(request: Request, server: Server<unknown>): Promise<Response> | null;
  /** Ends the event streams and stops listening to the event bus. */
  close(): void;
}

/**
 * The HTTP API (`/api/v1/…`, SPEC §19) and the dashboard over `control`. Every request passes the guard
 * (origin, content type, token) before its route runs; every failure is a JSON error.
 * @example
 * const plane = createControlPlane(fw, { queues: ["default"], startedAt: new Date() }, controlPlaneSettings("127.0.0.1", {}));
 * Bun.serve({ routes: plane.routes, fetch: (req, server) => plane.handle(req, server) ?? new Response("not found", { status: 404 }) });
 */
export function createControlPlane(
  control: ControlPlane,
  node: NodeInfo,
  settings: ControlPlaneSettings,
  streamOptions: EventStreamOptions = {},
): ControlPlaneServer {
  const guard = new RequestGuard(settings.apiToken);
  const events = new EventStream(control.events, streamOptions);
  const throughput = new Throughput(control.events, control.clock);
  const routes: Route[] = [
    ...overviewRoutes(control, { node, throughput, writable: guard.writable, samples: overviewSamples(control) }),
    ...jobRoutes(control),
    ...scheduleRoutes(control),
    ...queueRoutes(control),
    ...topicRoutes(control),
    { method: "GET", pattern: "/api/v1/events", handler: async ({ request, server }) => events.open(request, server) },
  ];

  async function answer(request: Request, server: Server<unknown>, url: URL): Promise<Response> {
    try {
      const write = request.method !== "GET" && request.method !== "HEAD";
      guard.check({ request, url, peer: server.requestIP(request)?.address ?? null, write });
      const { route, params } = matchRoute(routes, request.method, url.pathname);
      let body: Promise<unknown> | undefined;
      return await route.handler({ request, url, server, params, body: () => (body ??= readJsonBody(request, HTTP_API_DEFAULTS.maxBodyBytes)) });
    } catch (error) {
      return errorResponse(error, control.logger);
    }
  }

  return {
    routes: settings.dashboard ? { "/": dashboard } : {},
    handle(request, server) {
      if (!settings.api) return null;
      const url = new URL(request.url);
      return url.pathname === "/api" || url.pathname.startsWith("/api/") ? answer(request, server, url) : null;
    },
    close() {
      events.close();
      throughput.close();
    },
  };
}
