import type { Flywheel } from "../flywheel.ts";

/** HTTP server settings. `{}` means 127.0.0.1 on port 9090. `port: 0` picks a free port. */
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
export function startHttpServer(fw: Flywheel, options: HttpOptions = {}): ReturnType<typeof Bun.serve> {
  const readyTimeout = options.readyTimeoutMs ?? 2_000;
  return Bun.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 9090,
    async fetch(req) {
      const { pathname } = new URL(req.url);
      if (req.method !== "GET" && req.method !== "HEAD") return new Response("method not allowed\n", { status: 405 });
      switch (pathname) {
        case "/healthz":
          return new Response("ok\n");
        case "/readyz":
          try {
            await withTimeout(fw.driver.dbCheck({}), readyTimeout);
            return new Response("ready\n");
          } catch (error) {
            return new Response(`not ready: ${(error as Error).message}\n`, { status: 503 });
          }
        case "/metrics":
          try {
            const body = fw.metrics.render(await withTimeout(fw.queueHealth(), readyTimeout));
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
