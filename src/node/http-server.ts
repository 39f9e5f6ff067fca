import { HTTP_DEFAULTS } from "../core/defaults.ts";
import { createControlPlane } from "../http/api.ts";
import type { ControlPlane, NodeInfo } from "../http/control.ts";
import { controlPlaneSettings, type ControlPlaneOptions, type ControlPlaneSettings } from "../http/options.ts";
import { sampleQueueHealth } from "../maintenance/health.ts";
import type { Metrics } from "../observe/metrics.ts";
import type { RuntimeContext } from "../runtime/context.ts";

/**
 * HTTP server settings. `{}` means 127.0.0.1 on port 7741 ({@link HTTP_DEFAULTS}) with the API and dashboard on
 * and no token (read-only, loopback only). `port: 0` picks a free port. A non-loopback `hostname` needs an
 * `apiToken`, or `api: false, dashboard: false`.
 */
export interface HttpOptions extends ControlPlaneOptions {
  hostname?: string;
  port?: number;
  /** How long `/readyz` waits for the database before answering 503 (ms). Default 2,000. */
  readyTimeoutMs?: number;
}

/** A running HTTP server. */
export interface HttpServer {
  url: URL;
  /** Closes every connection (event streams too) and stops listening. */
  stop(): Promise<void>;
}

/**
 * Checks `options` before anything starts, so a node that may not serve as asked fails at construction.
 * @throws FlywheelError `config_invalid` (a non-loopback address without a token, a short token, the dashboard without the API).
 */
export function httpSettings(options: HttpOptions): ControlPlaneSettings {
  return controlPlaneSettings(options.hostname ?? HTTP_DEFAULTS.hostname, options);
}

/**
 * Serves `/healthz` (process liveness), `/readyz` (200 only while the database answers), `/metrics` (Prometheus
 * text, queue gauges sampled per scrape) and, given `control`, the API under `/api/v1/` and the dashboard at `/`
 * (SPEC §19). Binds loopback unless told otherwise.
 */
export function startHttpServer(
  ctx: RuntimeContext,
  metrics: Metrics,
  options: HttpOptions,
  plane: { control: ControlPlane; node: NodeInfo } | null,
): HttpServer {
  const readyTimeout = options.readyTimeoutMs ?? HTTP_DEFAULTS.readyTimeoutMs;
  const settings = httpSettings(options);
  const controlPlane = plane && (settings.api || settings.dashboard) ? createControlPlane(plane.control, plane.node, settings) : null;
  if (!plane && (settings.api || settings.dashboard)) {
    ctx.logger.warn("flywheel: this node has no control plane to serve; the API and dashboard are off (make the node with fw.node())");
  }
  const server = Bun.serve({
    hostname: options.hostname ?? HTTP_DEFAULTS.hostname,
    port: options.port ?? HTTP_DEFAULTS.port,
    // Bun's development mode (its default unless NODE_ENV=production) serves error pages with source and
    // hot-reloads the dashboard; a daemon wants neither.
    development: false,
    routes: controlPlane?.routes ?? {},
    async fetch(req, srv) {
      const api = controlPlane?.handle(req, srv);
      if (api) return api;
      const { pathname } = new URL(req.url);
      if (req.method !== "GET" && req.method !== "HEAD") return new Response("method not allowed\n", { status: 405 });
      switch (pathname) {
        case "/healthz":
          return new Response("ok\n");
        case "/readyz":
          try {
            await withTimeout(ctx.driver.dbCheck({}), readyTimeout);
            return new Response("ready\n");
          } catch (error) {
            return new Response(`not ready: ${(error as Error).message}\n`, { status: 503 });
          }
        case "/metrics":
          try {
            const [health, schedules] = await withTimeout(Promise.all([sampleQueueHealth(ctx), ctx.driver.periodicList({})]), readyTimeout);
            const body = metrics.render(health, schedules);
            return new Response(body, { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } });
          } catch (error) {
            return new Response(`metrics unavailable: ${(error as Error).message}\n`, { status: 503 });
          }
        default:
          return new Response("not found\n", { status: 404 });
      }
    },
  });
  return {
    url: new URL(server.url),
    async stop() {
      controlPlane?.close();
      await server.stop(true);
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`database did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
