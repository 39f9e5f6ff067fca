import * as v from "valibot";
import { isTerminal, type Job, type JobState, type WorkerDefinition } from "../core/types.ts";
import { VERSION } from "../core/version.ts";
import { defineWorker } from "../runtime/define-worker.ts";
import { type CommandWorkerOptions, execWorker, type HttpArgs, httpWorker } from "../workers/index.ts";
import { ALERT_DEFAULTS } from "../core/defaults.ts";
import { ALERT_KINDS } from "./deliveries.ts";

// The workers that deliver alerts and pings. Each is a thin layer over a ready-made command worker (`http`,
// `exec`), so a delivery is classified, captured and audited exactly like any other job of that kind: 408, 429,
// 5xx and network errors retry, other statuses are permanent; a command's exit code and output are recorded.

/** Whether `text` is an absolute http or https URL: what webhooks and pings may be sent to. */
export function isHttpUrl(text: string): boolean {
  try {
    return /^https?:$/.test(new URL(text).protocol);
  } catch {
    return false;
  }
}

const HTTP_URL = v.pipe(v.string(), v.check(isHttpUrl, "url must be an http or https URL"));
const TIMEOUT = v.optional(v.pipe(v.number(), v.gtValue(0)));

/** Args of `alert.webhook`: the body is written when the alert is raised, so the job shows exactly what is sent. */
export const ALERT_WEBHOOK_ARGS = v.strictObject({
  url: HTTP_URL,
  headers: v.optional(v.record(v.string(), v.string())),
  body: v.string(),
  content_type: v.string(),
  /** Sent as `X-Flywheel-Event`. */
  event: v.optional(v.string()),
  timeout_seconds: TIMEOUT,
});

/** Args of `alert.command`: the program and its arguments, and the alert as environment variables. */
export const ALERT_COMMAND_ARGS = v.strictObject({
  command: v.pipe(v.array(v.string()), v.minLength(1)),
  env: v.optional(v.record(v.string(), v.string())),
  timeout_seconds: TIMEOUT,
});

/** Args of `alert.ping`: the URL to call, an optional text body, and the start ping an end ping waits for. */
export const ALERT_PING_ARGS = v.strictObject({
  url: HTTP_URL,
  body: v.optional(v.string()),
  after: v.optional(v.string()),
  timeout_seconds: TIMEOUT,
});

/** What the alert workers need: the command workers' options, and a way to read a job's state (the ping order). */
export interface AlertWorkerOptions extends CommandWorkerOptions {
  /** The state of job `id`, or null when it does not exist (any more). */
  jobState(id: string): Promise<JobState | null>;
}

/**
 * The workers of `alert.webhook`, `alert.command` and `alert.ping` jobs, on queue `alerts`. Every delivery sends
 * `User-Agent: flywheel/<version>`, and a webhook `X-Flywheel-Delivery: <alert job id>` (the same on each retry,
 * for receivers that deduplicate) and `X-Flywheel-Event`.
 * @example fw.register(...alertWorkers({ baseDir, jobState: async (id) => (await fw.driver.jobGet({ id }))?.state ?? null }));
 */
export function alertWorkers(options: AlertWorkerOptions): WorkerDefinition<any, any>[] {
  const http = httpWorker(options);
  const exec = execWorker(options);
  const userAgent = `flywheel/${VERSION}`;
  const post = (job: Job<unknown>, args: HttpArgs) => http.work({ ...job, args });
  const defaults = { queue: ALERT_DEFAULTS.queue, maxAttempts: ALERT_DEFAULTS.maxAttempts };
  return [
    defineWorker({
      kind: ALERT_KINDS.webhook,
      args: ALERT_WEBHOOK_ARGS,
      ...defaults,
      work: (job) =>
        post(job, {
          url: job.args.url,
          method: "POST",
          headers: {
            "content-type": job.args.content_type,
            "user-agent": userAgent,
            ...(job.args.event ? { "x-flywheel-event": job.args.event } : {}),
            "x-flywheel-delivery": job.id,
            ...job.args.headers,
          },
          body: job.args.body,
          timeout_seconds: job.args.timeout_seconds,
        }),
    }),
    defineWorker({
      kind: ALERT_KINDS.command,
      args: ALERT_COMMAND_ARGS,
      ...defaults,
      work: (job) => {
        const [command, ...args] = job.args.command as [string, ...string[]];
        return exec.work({ ...job, args: { command, args, env: job.args.env, timeout_seconds: job.args.timeout_seconds } });
      },
    }),
    defineWorker({
      kind: ALERT_KINDS.ping,
      args: ALERT_PING_ARGS,
      queue: ALERT_DEFAULTS.queue,
      maxAttempts: ALERT_DEFAULTS.pingMaxAttempts,
      async work(job) {
        // An end ping that overtook its start would tell the check the run ended before it began; a snooze
        // costs no attempt. The start ping always ends (it has few attempts), so this wait is bounded.
        const after = job.args.after;
        const state = after === undefined ? null : await options.jobState(after);
        if (state !== null && !isTerminal(state)) return { snooze: ALERT_DEFAULTS.pingOrderSnoozeMs };
        const headers: Record<string, string> = { "user-agent": userAgent };
        if (job.args.body !== undefined) headers["content-type"] = "text/plain; charset=utf-8";
        return post(job, { url: job.args.url, method: "POST", headers, body: job.args.body, timeout_seconds: job.args.timeout_seconds });
      },
    }),
  ];
}
