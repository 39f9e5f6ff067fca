import type { NodeOptions } from "../node/node.ts";
import type { FlywheelConfig, HttpAddress } from "./config/index.ts";

/**
 * The node a config describes: one runner on `runtime.queues` with the runtime's settings, the scheduler with
 * its retention and health sample, and HTTP on `http` (default `runtime.http_addr`; null for none) with the API
 * and dashboard as `http:` says.
 * @example await fw.node(nodeOptions(config)).run(signal);
 */
export function nodeOptions(config: FlywheelConfig, http: HttpAddress | null = config.runtime.httpAddr): NodeOptions {
  const r = config.runtime;
  return {
    runners: [
      {
        queues: r.queues,
        concurrency: r.concurrency,
        prefetch: r.prefetch,
        lease: r.leaseMs,
        pollInterval: r.pollIntervalMs,
        backoff: { base: r.retryBackoff.baseMs, cap: r.retryBackoff.capMs },
        jobTimeout: r.jobTimeoutMs,
      },
    ],
    // A swept job waits the same retry backoff as a failed attempt.
    scheduler: { retention: r.retentionMs, healthSampleInterval: r.healthSampleIntervalMs, backoff: { base: r.retryBackoff.baseMs, cap: r.retryBackoff.capMs } },
    http: http
      ? { hostname: http.hostname, port: http.port, api: config.http.api, dashboard: config.http.dashboard, apiToken: config.http.apiToken ?? undefined }
      : false,
    drainTimeout: r.drainTimeoutMs,
  };
}
