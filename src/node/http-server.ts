import { HTTP_DEFAULTS } from "../core/defaults.ts";
import { sampleQueueHealth } from "../maintenance/health.ts";
import type { Metrics } from "../observe/metrics.ts";
import type { RuntimeContext } from "../runtime/context.ts";

/** HTTP server settings. `{}` means 127.0.0.1 on port 7741 ({@link HTTP_DEFAULTS}). `port: 0` picks a free port. */
export interface HttpOptions {
  hostname?: string;
  port?: number;
  /** How long `/readyz` waits for the database before answering 503 (ms). Default 2,000. */
  readyTimeoutMs?: number;
}

/**
 * Serves `/healthz` (process liveness), `/readyz` (200 only while the database answers) and `/metrics`
 * (Prometheus text, queue gauges sampled per scrape). Binds loopback unless told otherwise.
 */
export function startHttpServer(ctx: RuntimeContext, metrics: Metrics, options: HttpOptions = {}): ReturnType<typeof Bun.serve> {
  const readyTimeout = options.readyTimeoutMs ?? HTTP_DEFAULTS.readyTimeoutMs;
  return Bun.serve({
    hostname: options.hostname ?? HTTP_DEFAULTS.hostname,
    port: options.port ?? HTTP_DEFAULTS.port,
    async fetch(req) {
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
            const body = metrics.render(await withTimeout(sampleQueueHealth(ctx), readyTimeout));
            return new Response(body, { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } });
          } catch (error) {
            return new Response(`metrics unavailable: ${(error as Error).message}\n`, { status: 503 });
          }
        default:
          return new Response("not found\n", { status: 404 });
      }
    },
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`database did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
