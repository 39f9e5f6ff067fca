import type { ALERT_EVENTS, WEBHOOK_FORMATS } from "./defaults.ts";

// The shapes alerts are configured in. The config loader resolves `alerts:`, `ping:` and `grace:` into these;
// nothing here has behaviour.

/** What an alert fires on (SPEC §20). */
export type AlertEvent = (typeof ALERT_EVENTS)[number];

/** How a webhook's body is written. */
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** Where an alert goes: a POST to a URL, or a command run with the alert in its environment. */
export type AlertTarget =
  | { type: "webhook"; url: string; format: WebhookFormat; headers: Record<string, string> }
  | { type: "command"; command: string[] };

/** One alert: the events it fires on, where it goes, and how long one delivery may take. */
export interface AlertRule {
  on: AlertEvent[];
  target: AlertTarget;
  timeoutMs: number;
}

/** Everything a schedule reports: its alerts, its dead-man ping URL, and the grace before a fire counts as missed. */
export interface ScheduleAlerts {
  rules: AlertRule[];
  /** healthchecks.io-style base URL: `/start`, itself and `/fail` are called; null for none. */
  ping: string | null;
  graceMs: number;
}
