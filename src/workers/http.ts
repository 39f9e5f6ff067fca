import * as v from "valibot";
import { WorkerError } from "../core/errors.ts";
import type { WorkerDefinition } from "../core/types.ts";
import { defineWorker } from "../runtime/define-worker.ts";
import { type CommandWorkerOptions, resolveCommandOptions } from "./env.ts";
import { abortedError } from "./spawn.ts";

/** Methods the `http` worker accepts (case-insensitive in args). */
const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

/** Args of the `http` worker. */
export const HTTP_ARGS = v.pipe(
  v.strictObject({
    url: v.pipe(v.string(), v.url(), v.regex(/^https?:/i, "url must be http or https")),
    /** Default `GET`. */
    method: v.optional(v.pipe(v.string(), v.toUpperCase(), v.picklist(HTTP_METHODS))),
    headers: v.optional(v.record(v.string(), v.string())),
    /** A string is sent as is; any other JSON value is sent as JSON with `content-type: application/json`. */
    body: v.optional(v.unknown()),
    /** Statuses that count as success; default any 2xx. */
    success_status: v.optional(v.pipe(v.array(v.pipe(v.number(), v.integer(), v.minValue(100), v.maxValue(599))), v.minLength(1))),
    timeout_seconds: v.optional(v.pipe(v.number(), v.gtValue(0))),
  }),
  v.forward(
    v.check((a) => a.body === undefined || !["GET", "HEAD"].includes(a.method ?? "GET"), "a GET or HEAD request cannot have a body; set method"),
    ["body"],
  ),
);

/** Parsed args of the `http` worker. */
export type HttpArgs = v.InferOutput<typeof HTTP_ARGS>;

/** What an HTTP call leaves in `job_runs.output`. */
export interface HttpOutput {
  /** `null` when no response arrived. */
  status: number | null;
  /** The few response headers worth keeping for diagnosis. */
  headers: Record<string, string>;
  /** The first `maxOutputBytes` of the body, as text. */
  body: string;
  body_truncated: boolean;
  duration_ms: number;
  url: string;
  method: string;
}

const KEPT_HEADERS = ["content-type", "content-length", "location", "retry-after"];

/**
 * The `http` worker: one request per attempt. A status in `success_status` (default 2xx) succeeds; 408, 429,
 * 5xx, network errors and timeouts retry; any other status discards the job. Only the body's head is kept
 * (and read), so a huge response costs at most `maxOutputBytes`.
 * @example
 * fw.register(httpWorker());
 * await fw.insert("http", { url: "https://example.com/hooks/nightly", method: "POST", body: { run: 1 } });
 */
export function httpWorker(options: CommandWorkerOptions = {}): WorkerDefinition<HttpArgs, v.InferInput<typeof HTTP_ARGS>> {
  const { maxOutputBytes } = resolveCommandOptions(options);
  return defineWorker({
    kind: "http",
    args: HTTP_ARGS,
    async work(job) {
      const { url, method = "GET", body, success_status, timeout_seconds } = job.args;
      const headers = new Headers(job.args.headers);
      let payload: string | undefined;
      if (body !== undefined) {
        payload = typeof body === "string" ? body : JSON.stringify(body);
        if (typeof body !== "string" && !headers.has("content-type")) headers.set("content-type", "application/json");
      }
      const own = timeout_seconds === undefined ? undefined : AbortSignal.timeout(timeout_seconds * 1000);
      const signal = own ? AbortSignal.any([job.signal, own]) : job.signal;
      const started = performance.now();
      const output: HttpOutput = { status: null, headers: {}, body: "", body_truncated: false, duration_ms: 0, url, method };
      let status: number;
      try {
        const response = await fetch(url, { method, headers, body: payload, signal });
        status = output.status = response.status;
        for (const name of KEPT_HEADERS) {
          const value = response.headers.get(name);
          if (value !== null) output.headers[name] = value;
        }
        const read = await readHead(response, maxOutputBytes);
        output.body = read.text;
        output.body_truncated = read.truncated;
      } catch (error) {
        output.duration_ms = Math.round(performance.now() - started);
        if (own?.aborted) throw new WorkerError(`timed out after ${timeout_seconds}s: ${method} ${url}`, { output, errorClass: "timeout", cause: error });
        if (job.signal.aborted) throw abortedError(job.signal.reason, output);
        const message = error instanceof Error ? error.message : String(error);
        throw new WorkerError(`${method} ${url}: ${message}`, { output, errorClass: "transient", cause: error });
      }
      output.duration_ms = Math.round(performance.now() - started);
      const ok = success_status ? success_status.includes(status) : status >= 200 && status < 300;
      if (ok) return { output };
      const retry = status === 408 || status === 429 || status >= 500;
      throw new WorkerError(`${method} ${url}: status ${status}`, { output, errorClass: retry ? "transient" : "permanent" });
    },
  });
}

async function readHead(response: Response, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  if (!response.body) return { text: "", truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let kept = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = maxBytes - kept;
    if (value.byteLength > room) {
      chunks.push(value.subarray(0, room));
      kept = maxBytes;
      truncated = true;
      // Stop downloading: the rest would be thrown away.
      await reader.cancel().catch(() => {});
      break;
    }
    chunks.push(value);
    kept += value.byteLength;
  }
  return { text: new TextDecoder().decode(Buffer.concat(chunks)), truncated };
}
