// The alerts' vocabularies (SPEC §20). Their defaults live with every other default, in core/defaults.ts.

/** What a schedule's alert may fire on. */
export const ALERT_EVENTS = ["failure", "recovery", "missed", "skipped"] as const;

/** How a webhook's body is written: flywheel's JSON, a Slack-style `{ "text": … }`, or the text alone. */
export const WEBHOOK_FORMATS = ["json", "slack", "text"] as const;
