import { resolve } from "node:path";
import { ALERT_DEFAULTS } from "../../core/defaults.ts";
import type { AlertEvent, AlertRule, WebhookFormat } from "../../alerts/types.ts";
import { pathProblem } from "./paths.ts";

// `alerts:` (top level and per schedule) → AlertRules with every default applied. The schema has checked the
// shape; what is left is what needs the disk or the config's directory: a command given as a path.

/** One alert as the schema outputs it: `on` already a list, `timeout` in milliseconds. */
export interface RawAlert {
  on?: AlertEvent[];
  webhook?: string;
  command?: string[];
  format?: WebhookFormat;
  headers?: Record<string, string>;
  timeout?: number;
}

/**
 * Resolves `alerts:` found at key path `at` (`["alerts"]`, `["schedules", 2, "alerts"]`) into rules: one alert
 * or a list of them. A command's program that contains a `/` is made absolute against `baseDir` (so the job runs
 * it from any node's working directory) and must be a file; `issue` reports it otherwise.
 */
export function resolveAlerts(
  raw: RawAlert | RawAlert[] | undefined,
  at: (string | number)[],
  baseDir: string,
  issue: (path: (string | number)[], message: string) => void,
): AlertRule[] {
  if (raw === undefined) return [];
  const list = Array.isArray(raw) ? raw.map((a, i) => ({ a, path: [...at, i] })) : [{ a: raw, path: at }];
  return list.map(({ a, path }) => {
    const on = a.on ?? [...ALERT_DEFAULTS.on];
    if (a.webhook !== undefined) {
      return {
        on,
        target: { type: "webhook", url: a.webhook, format: a.format ?? ALERT_DEFAULTS.format, headers: a.headers ?? {} },
        timeoutMs: a.timeout ?? ALERT_DEFAULTS.webhookTimeoutMs,
      };
    }
    const [program = "", ...args] = a.command ?? [];
    let command = program;
    if (program.includes("/")) {
      command = resolve(baseDir, program);
      const problem = pathProblem(command, "file");
      if (problem) issue([...path, "command", 0], problem);
    }
    return { on, target: { type: "command", command: [command, ...args] }, timeoutMs: a.timeout ?? ALERT_DEFAULTS.commandTimeoutMs };
  });
}
