// The alerts' defaults (SPEC §20), in one place. They sit beside the alerts rather than in core/defaults.ts
// because nothing outside src/alerts and the daemon's config reads them.

/** What a schedule's alert may fire on. */
export const ALERT_EVENTS = ["failure", "recovery", "missed", "skipped"] as const;

/** How a webhook's body is written: flywheel's JSON, a Slack-style `{ "text": … }`, or the text alone. */
export const WEBHOOK_FORMATS = ["json", "slack", "text"] as const;

/** What an alert gets when its config does not say. */
export const ALERT_DEFAULTS = {
  /** The queue alert and ping jobs go to; the daemon runs a runner of its own on it. */
  queue: "alerts",
  /** `on:` when an alert names no events: `skipped` is opt-in, since an overlapping schedule skips often. */
  on: ["failure", "recovery", "missed"],
  format: "json",
  /** How long after its time a fire may start before it counts as missed. */
  graceMs: 5 * 60_000,
  webhookTimeoutMs: 10_000,
  commandTimeoutMs: 60_000,
  pingTimeoutMs: 10_000,
  /** Attempts per alert: with the default backoff (1 s doubling to 1 min) about nine minutes of retrying. */
  maxAttempts: 15,
  /** Attempts per ping: a ping delivered very late would only mislead a dead-man check. */
  pingMaxAttempts: 5,
  /** Slots of the daemon's alerts runner. */
  concurrency: 4,
  /** How often a node looks for missed fires, at most; shorter when a schedule's grace is shorter. */
  missedCheckMs: 30_000,
  /** How often a node looks for missed fires, at least. */
  missedCheckMinMs: 1_000,
  /** Lines of stderr and stdout an alert carries, and the bytes they may take each. */
  tailLines: 20,
  tailBytes: 4_096,
  /** Waiting jobs read per queue and state when looking for fires that have not started. */
  scanLimit: 200,
  /** How long an end ping waits before it looks again whether its start ping has gone out. */
  pingOrderSnoozeMs: 500,
  /** How long stopping waits for the schedule state of jobs that ended during the drain (SQL round trips). */
  stopWaitMs: 5_000,
  /** Added to an alert's own timeout for the runtime's deadline, so the alert's own fires first. */
  deadlineSlackMs: 5_000,
} as const;
