import { formatDuration } from "../core/duration.ts";
import { ALERT_DEFAULTS } from "../core/defaults.ts";
import type { AlertEvent, WebhookFormat } from "./types.ts";

// What an alert says, once, in every form it is delivered in: the JSON body of a webhook, a Slack-style or plain
// text message, and the environment of a command. Pure: the facts come in, text goes out.

/**
 * The body of a `format: json` webhook and the `FLYWHEEL_ALERT_JSON` of a command alert. Every key is always
 * present; a fact that does not apply to the event is null, so receivers can rely on the shape.
 */
export interface AlertPayload {
  /** Bumped if a key ever changes meaning; new keys may appear without a bump. */
  version: 1;
  event: AlertEvent;
  /** The schedule's slug. */
  schedule: string;
  /** A short headline, e.g. `nightly-backup failed`. */
  title: string;
  /** The whole message as plain text: a summary line, the error, the output tails and the job's link. */
  text: string;
  /** When the alert was raised (ISO 8601). */
  time: string;
  /** The host of the node that raised it. */
  host: string;
  /** The schedule's job the alert is about; null for a fire that was never enqueued. */
  job_id: string | null;
  /** The job's state: its final state for failure and recovery, its current one for missed. */
  state: string | null;
  exit_code: number | null;
  /** The last attempt's duration. */
  duration_ms: number | null;
  attempts: number | null;
  /** The last attempt's error message. */
  error: string | null;
  /** The last lines of the last attempt's stderr and stdout. */
  stderr_tail: string | null;
  stdout_tail: string | null;
  /** The failure streak: including this run for failure; the streak this success ended for recovery. */
  consecutive_failures: number | null;
  /** Why: for missed `not_fired`, `not_started` or `started_late`; for skipped `overlap` or `catch_up=<policy>`. */
  reason: string | null;
  /** The fire a missed alert is about (ISO 8601). */
  fire_at: string | null;
  /** When that fire's job started, if it did. */
  started_at: string | null;
  grace_ms: number | null;
  /** Fires dropped by this skip. */
  skipped: number | null;
  /** The job in the HTTP API and the dashboard, when the node serves HTTP and the alert has a job. */
  links: { api: string; dashboard: string } | null;
}

/** What an alert is about; whatever is left out is null in the payload. Output is given whole; its tail is taken here. */
export interface AlertFacts {
  event: AlertEvent;
  schedule: string;
  jobId?: string | null;
  state?: string | null;
  exitCode?: number | null;
  durationMs?: number | null;
  attempts?: number | null;
  error?: string | null;
  stderr?: string | null;
  stdout?: string | null;
  consecutiveFailures?: number | null;
  reason?: string | null;
  fireAt?: Date | null;
  startedAt?: Date | null;
  graceMs?: number | null;
  skipped?: number | null;
}

/** Where and when an alert is raised. `baseUrl` is the node's HTTP server, null when it serves none. */
export interface AlertOrigin {
  now: Date;
  host: string;
  baseUrl: URL | null;
}

/**
 * The payload of an alert: the facts, the output tails, the links, and the headline and text written from them.
 * @example alertPayload({ event: "failure", schedule: "nightly", jobId, exitCode: 1 }, { now: new Date(), host: "web1", baseUrl: null })
 */
export function alertPayload(facts: AlertFacts, origin: AlertOrigin): AlertPayload {
  const jobId = facts.jobId ?? null;
  const payload: AlertPayload = {
    version: 1,
    event: facts.event,
    schedule: facts.schedule,
    title: "",
    text: "",
    time: origin.now.toISOString(),
    host: origin.host,
    job_id: jobId,
    state: facts.state ?? null,
    exit_code: facts.exitCode ?? null,
    duration_ms: facts.durationMs ?? null,
    attempts: facts.attempts ?? null,
    error: facts.error ?? null,
    stderr_tail: outputTail(facts.stderr),
    stdout_tail: outputTail(facts.stdout),
    consecutive_failures: facts.consecutiveFailures ?? null,
    reason: facts.reason ?? null,
    fire_at: facts.fireAt?.toISOString() ?? null,
    started_at: facts.startedAt?.toISOString() ?? null,
    grace_ms: facts.graceMs ?? null,
    skipped: facts.skipped ?? null,
    links: jobId && origin.baseUrl ? jobLinks(origin.baseUrl, jobId, origin.host) : null,
  };
  payload.title = headline(payload);
  payload.text = message(payload, "plain");
  return payload;
}

/**
 * The last `lines` lines of `text` within `maxBytes` (cut at the front when longer), without trailing blank
 * lines or NUL characters; null when nothing is left.
 */
export function outputTail(text: string | null | undefined, lines: number = ALERT_DEFAULTS.tailLines, maxBytes: number = ALERT_DEFAULTS.tailBytes): string | null {
  if (!text) return null;
  const clean = text.replaceAll("\0", "").replace(/\s+$/, "");
  if (clean === "") return null;
  const kept = clean.split("\n").slice(-lines).join("\n");
  const bytes = Buffer.from(kept);
  if (bytes.byteLength <= maxBytes) return kept;
  // A cut inside a multi-byte character decodes to U+FFFD at the front; drop it rather than show it.
  return `…${bytes.subarray(bytes.byteLength - maxBytes).toString("utf8").replace(/^\uFFFD+/, "")}`;
}

/**
 * The job's page in the HTTP API and the dashboard under `base`. A wildcard listen address (0.0.0.0, ::) is no
 * place to send anyone, so it is replaced by `host`.
 */
export function jobLinks(base: URL, jobId: string, host: string): { api: string; dashboard: string } {
  const root = new URL(base.href);
  if (root.hostname === "0.0.0.0" || root.hostname === "[::]") root.hostname = host;
  const id = encodeURIComponent(jobId);
  return { api: new URL(`/api/v1/jobs/${id}`, root).href, dashboard: new URL(`/jobs/${id}`, root).href };
}

/** A webhook's body and content type in `format`: the payload as JSON, `{ "text": … }` (Slack, Mattermost, Google Chat), or the text alone (ntfy). */
export function webhookBody(payload: AlertPayload, format: WebhookFormat): { body: string; contentType: string } {
  switch (format) {
    case "json":
      return { body: JSON.stringify(payload), contentType: "application/json" };
    case "slack":
      return { body: JSON.stringify({ text: message(payload, "slack") }), contentType: "application/json" };
    case "text":
      return { body: payload.text, contentType: "text/plain; charset=utf-8" };
  }
}

/**
 * A command alert's environment: each fact as `FLYWHEEL_…` (empty when it does not apply) and the whole
 * payload as JSON in `FLYWHEEL_ALERT_JSON`.
 */
export function alertEnv(payload: AlertPayload): Record<string, string> {
  const env: Record<string, unknown> = {
    FLYWHEEL_ALERT_EVENT: payload.event,
    FLYWHEEL_SCHEDULE: payload.schedule,
    FLYWHEEL_ALERT_TITLE: payload.title,
    FLYWHEEL_ALERT_TEXT: payload.text,
    FLYWHEEL_ALERT_TIME: payload.time,
    FLYWHEEL_HOST: payload.host,
    FLYWHEEL_JOB_ID: payload.job_id,
    FLYWHEEL_JOB_STATE: payload.state,
    FLYWHEEL_EXIT_CODE: payload.exit_code,
    FLYWHEEL_DURATION_MS: payload.duration_ms,
    FLYWHEEL_ATTEMPTS: payload.attempts,
    FLYWHEEL_ERROR: payload.error,
    FLYWHEEL_STDERR_TAIL: payload.stderr_tail,
    FLYWHEEL_STDOUT_TAIL: payload.stdout_tail,
    FLYWHEEL_CONSECUTIVE_FAILURES: payload.consecutive_failures,
    FLYWHEEL_REASON: payload.reason,
    FLYWHEEL_FIRE_AT: payload.fire_at,
    FLYWHEEL_SKIPPED: payload.skipped,
    FLYWHEEL_JOB_URL: payload.links?.dashboard,
    FLYWHEEL_ALERT_JSON: JSON.stringify(payload),
  };
  // An environment string cannot hold NUL; output tails are the only place one could come from.
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null || v === undefined ? "" : String(v).replaceAll("\0", "")]));
}

function headline(p: AlertPayload): string {
  switch (p.event) {
    case "failure":
      return `${p.schedule} failed`;
    case "recovery":
      return `${p.schedule} recovered`;
    case "missed":
      return `${p.schedule} missed a fire`;
    case "skipped":
      return `${p.schedule} skipped ${plural(p.skipped ?? 0, "fire")}`;
  }
}

/** The summary line: what happened, where, and why, in one sentence an operator can act on. */
function summary(p: AlertPayload): string {
  const on = `schedule ${p.schedule} on ${p.host}`;
  switch (p.event) {
    case "failure": {
      const facts = [p.state, p.exit_code !== null ? `exit ${p.exit_code}` : null, p.attempts ? `after ${plural(p.attempts, "attempt")}` : null];
      const took = p.duration_ms !== null ? ` (last attempt ${formatDuration(p.duration_ms)})` : "";
      return `flywheel: ${on} failed: ${facts.filter(Boolean).join(", ")}${took}`;
    }
    case "recovery":
      return `flywheel: ${on} succeeded again after ${plural(p.consecutive_failures ?? 0, "failed run")}`;
    case "missed":
      return `flywheel: ${on} did not start its ${p.fire_at} fire within ${formatDuration(p.grace_ms ?? 0)}: ${missedWhy(p)}`;
    case "skipped":
      return `flywheel: ${on} skipped ${plural(p.skipped ?? 0, "fire")}: ${skippedWhy(p.reason)}`;
  }
}

function missedWhy(p: AlertPayload): string {
  switch (p.reason) {
    case "not_fired":
      return p.error ? `it fails to fire (${p.error})` : "no scheduler fired it (is a flywheel node running?)";
    case "not_started":
      return `its job ${p.job_id} is still ${p.state ?? "waiting"} (is its queue served, or are its runners busy?)`;
    case "started_late":
      return `its job ${p.job_id} started at ${p.started_at}`;
    default:
      return p.reason ?? "unknown";
  }
}

function skippedWhy(reason: string | null): string {
  if (reason === "overlap") return "its previous run was still active (overlap: skip)";
  if (reason?.startsWith("catch_up=")) return `fires missed while no scheduler ran were dropped (catch_up: ${reason.slice("catch_up=".length)})`;
  return reason ?? "unknown";
}

/** The full message: the summary, the error, the output tails and the link; `slack` fences the output as code. */
function message(p: AlertPayload, style: "plain" | "slack"): string {
  const block = (label: string, body: string) => (style === "slack" ? `${label}:\n\`\`\`\n${body}\n\`\`\`` : `--- ${label} ---\n${body}`);
  const parts = [summary(p)];
  if (p.error && p.event === "failure") parts.push(`error: ${p.error}`);
  if (p.stderr_tail) parts.push(block("stderr (last lines)", p.stderr_tail));
  if (p.stdout_tail && p.event === "failure") parts.push(block("stdout (last lines)", p.stdout_tail));
  if (p.links) parts.push(style === "slack" ? `<${p.links.dashboard}|job ${p.job_id}>` : p.links.dashboard);
  return parts.join("\n");
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
