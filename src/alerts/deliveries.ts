import { createHash } from "node:crypto";
import type { InsertManyItem } from "../flywheel.ts";
import { ALERT_DEFAULTS } from "../core/defaults.ts";
import { alertEnv, type AlertPayload, webhookBody } from "./payload.ts";
import type { AlertEvent, AlertRule } from "./types.ts";

// Alerts and pings as jobs: what each delivery job carries, and the unique key that makes one occurrence of an
// event one delivery per alert, however many nodes notice it.

/** The kinds of the alert workers (see `alertWorkers`). */
export const ALERT_KINDS = { webhook: "alert.webhook", command: "alert.command", ping: "alert.ping" } as const;

/** The three calls of a healthchecks.io-style ping: `URL/start`, `URL` (success) and `URL/fail`. */
export type PingPhase = "start" | "success" | "fail";

/**
 * A short name for an alert's target, stable across processes and versions: it goes into the alert's unique
 * key, so each alert of a schedule fires once per occurrence, and nodes running the same config agree.
 */
export function ruleId(rule: AlertRule): string {
  return createHash("sha256").update(JSON.stringify(rule.target)).digest("hex").slice(0, 12);
}

/** Whether `rule` fires on `event`. */
export function firesOn(rule: AlertRule, event: AlertEvent): boolean {
  return rule.on.includes(event);
}

/**
 * The jobs that deliver `payload` through each rule in `rules` that fires on its event. `occurrence` names what
 * happened (a job id, a fire time): with the schedule, the event and the rule it forms the job's unique key
 * `alert:<schedule>:<event>@<occurrence>:<rule id>`, so the same occurrence noticed twice (by two nodes, or
 * twice by one) is delivered once. `killGraceMs` is the command workers' SIGTERM → SIGKILL grace.
 */
export function alertJobs(payload: AlertPayload, rules: readonly AlertRule[], occurrence: string, killGraceMs: number): InsertManyItem[] {
  return rules
    .filter((rule) => firesOn(rule, payload.event))
    .map((rule) => {
      const options = {
        queue: ALERT_DEFAULTS.queue,
        maxAttempts: ALERT_DEFAULTS.maxAttempts,
        uniqueKey: `alert:${payload.schedule}:${payload.event}@${occurrence}:${ruleId(rule)}`,
        tags: ["alert", `alert:${payload.event}`, `schedule:${payload.schedule}`],
      };
      const seconds = rule.timeoutMs / 1000;
      const target = rule.target;
      if (target.type === "webhook") {
        const { body, contentType } = webhookBody(payload, target.format);
        return {
          kind: ALERT_KINDS.webhook,
          args: { url: target.url, headers: target.headers, body, content_type: contentType, event: payload.event, timeout_seconds: seconds },
          options: { ...options, timeout: rule.timeoutMs + ALERT_DEFAULTS.deadlineSlackMs },
        };
      }
      return {
        kind: ALERT_KINDS.command,
        args: { command: target.command, env: alertEnv(payload), timeout_seconds: seconds },
        // The command's own timeout ends its process group first, grace included, keeping its output.
        options: { ...options, timeout: rule.timeoutMs + killGraceMs + ALERT_DEFAULTS.deadlineSlackMs },
      };
    });
}

/**
 * `base` with `/start` or `/fail` appended to its path (success calls `base` itself), and `rid=<runId>` in its
 * query, so a healthchecks.io check pairs each start with its end even when runs overlap.
 */
export function pingUrl(base: string, phase: PingPhase, runId: string): string {
  const url = new URL(base);
  if (phase !== "success") url.pathname = `${url.pathname.replace(/\/+$/, "")}/${phase}`;
  url.searchParams.set("rid", runId);
  return url.href;
}

/**
 * The job that pings `base` for a schedule's job: best effort and durable (retried, audited), and apart from the
 * schedule's own job, whose outcome it never touches. `after` is the start ping's job, which an end ping waits
 * for so the check never sees a run end before it began. Unique per schedule job and phase.
 */
export function pingJob(p: { schedule: string; base: string; phase: PingPhase; jobId: string; body?: string; after?: string }): InsertManyItem {
  return {
    kind: ALERT_KINDS.ping,
    args: {
      url: pingUrl(p.base, p.phase, p.jobId),
      ...(p.body !== undefined ? { body: p.body } : {}),
      ...(p.after !== undefined ? { after: p.after } : {}),
      timeout_seconds: ALERT_DEFAULTS.pingTimeoutMs / 1000,
    },
    options: {
      queue: ALERT_DEFAULTS.queue,
      maxAttempts: ALERT_DEFAULTS.pingMaxAttempts,
      timeout: ALERT_DEFAULTS.pingTimeoutMs + ALERT_DEFAULTS.deadlineSlackMs,
      uniqueKey: `ping:${p.schedule}:${p.phase}@${p.jobId}`,
      tags: ["ping", `ping:${p.phase}`, `schedule:${p.schedule}`],
    },
  };
}
