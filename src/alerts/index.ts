// Alerts and pings for schedules (SPEC §20): failure, recovery, missed and skipped alerts delivered as webhooks or
// commands, and healthchecks.io-style pings, all as durable jobs on queue `alerts`. See docs/ALERTS.md.

export { ALERT_DEFAULTS } from "../core/defaults.ts";
export { ALERT_EVENTS, WEBHOOK_FORMATS } from "./defaults.ts";
export { ALERT_KINDS, alertJobs, pingJob, pingUrl, ruleId, type PingPhase } from "./deliveries.ts";
export { findMissedFires, fireOf, lateStart, unfiredFire, type MissedFire, type MissedReason } from "./missed.ts";
export { alertEnv, alertPayload, jobLinks, outputTail, webhookBody, type AlertFacts, type AlertOrigin, type AlertPayload } from "./payload.ts";
export { AlertPolicy, type AlertPolicyOptions } from "./policy.ts";
export type { AlertEvent, AlertRule, AlertTarget, ScheduleAlerts, WebhookFormat } from "./types.ts";
export { AlertWatcher, type AlertWatcherOptions } from "./watcher.ts";
export { ALERT_COMMAND_ARGS, ALERT_PING_ARGS, ALERT_WEBHOOK_ARGS, alertWorkers, type AlertWorkerOptions } from "./workers.ts";
