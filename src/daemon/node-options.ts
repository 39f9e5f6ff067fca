import { ALERT_DEFAULTS } from "../core/defaults.ts";
import type { RunnerOptions } from "../jobs/settings.ts";
import type { NodeOptions } from "../node/node.ts";
import type { FlywheelConfig, HttpAddress } from "./config/index.ts";

/**
 * The node a config describes: one runner on `runtime.queues` with the runtime's settings, the scheduler with
 * its retention and health sample, and HTTP on `http` (default `runtime.http_addr`; null for none) with the API
 * and dashboard as `http:` says. When the config has alerts or pings, a second runner serves queue `alerts`, so a
 * slow webhook never waits behind the schedules' jobs, nor they behind it.
 * @example await fw.node(nodeOptions(config)).run(signal);
 */
export function nodeOptions(config: FlywheelConfig, http: HttpAddress | null = config.runtime.httpAddr): NodeOptions {
  const r = config.runtime;
  const settings: Omit<RunnerOptions, "queues" | "concurrency"> = {
    prefetch: r.prefetch,
    lease: r.leaseMs,
    pollInterval: r.pollIntervalMs,
    backoff: { base: r.retryBackoff.baseMs, cap: r.retryBackoff.capMs },
    jobTimeout: r.jobTimeoutMs,
  };
  const runners: RunnerOptions[] = [{ queues: r.queues, concurrency: r.concurrency, ...settings }];
  if (hasAlerts(config) && !r.queues.includes(ALERT_DEFAULTS.queue)) {
    runners.push({ queues: [ALERT_DEFAULTS.queue], concurrency: ALERT_DEFAULTS.concurrency, ...settings, prefetch: 0 });
  }
  return {
    runners,
    // A swept job waits the same retry backoff as a failed attempt.
    scheduler: { retention: r.retentionMs, healthSampleInterval: r.healthSampleIntervalMs, backoff: { base: r.retryBackoff.baseMs, cap: r.retryBackoff.capMs } },
    http: http
      ? { hostname: http.hostname, port: http.port, api: config.http.api, dashboard: config.http.dashboard, apiToken: config.http.apiToken ?? undefined }
      : false,
    drainTimeout: r.drainTimeoutMs,
  };
}

/** Whether a config raises any alert or ping (SPEC §20). */
export function hasAlerts(config: FlywheelConfig): boolean {
  return config.alerts.length > 0 || config.schedules.some((s) => s.alerts.length > 0 || s.ping !== null);
}
