/**
 * A dashboard open on a flywheel client, for drains that measure what it costs the job path: a second node of the
 * same client serving the HTTP API and dashboard (`http: { port: 0 }`; no runner and no scheduler, since the
 * drain's own node does the work, as it would in one node serving both), and
 * `bench/control-plane/dashboard-client.ts` in its own process holding the event stream open and asking for the
 * overview every second. Both are up (stream open, first overview answered) before it returns, so a timed drain
 * after it pays for serving them, not for starting them.
 */
import { join } from "node:path";
import type { Flywheel } from "../../src/index.ts";

/** The line bench/control-plane/node.ts prints once it serves. */
export const NODE_MARK = "@@NODE@@";

/** What bench/control-plane/node.ts reports once it serves: its URL and what the fill wrote. */
export interface NodeReady {
  url: string;
  rows: number;
  runs: number;
  fillSec: number;
}

/** Prefix of the dashboard client's lines on stdout. */
export const CLIENT_MARK = "@@CLIENT@@";

/** What the dashboard client saw, in its summary line. */
export interface ClientSummary {
  sseEvents: number;
  overviews: number;
  overviewErrors: number;
  overviewP50Ms: number;
  overviewP99Ms: number;
  overviewMaxMs: number;
  /** The client process's own CPU from ready to the summary (reading the stream, asking for overviews). */
  clientCpuMs: number;
}

/** The open dashboard: `finish()` ends the client and returns what it saw; `close()` stops the node (idempotent). */
export interface OpenDashboard {
  url: string;
  finish(): Promise<ClientSummary>;
  close(): Promise<void>;
}

/** Reads `proc`'s stdout line by line, handing each to `onLine`. */
async function lines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    const parts = pending.split("\n");
    pending = parts.pop() ?? "";
    for (const line of parts) onLine(line);
  }
  if (pending) onLine(pending);
}

/** Starts the dashboard node on `fw` and its client; resolves once the client is served. */
export async function openDashboard(fw: Flywheel, timeoutMs = 30_000): Promise<OpenDashboard> {
  const controller = new AbortController();
  const node = fw.node({ runners: [], scheduler: false, http: { port: 0 } });
  const running = node.run(controller.signal);
  const url = node.url!.href;
  const client = Bun.spawn([process.execPath, join(import.meta.dir, "..", "control-plane", "dashboard-client.ts"), url], {
    stdout: "pipe",
    stderr: "inherit",
    stdin: "ignore",
  });
  let markReady: () => void;
  let markSummary: (s: ClientSummary) => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const summary = new Promise<ClientSummary>((resolve) => (markSummary = resolve));
  void lines(client.stdout, (line) => {
    if (!line.startsWith(CLIENT_MARK)) return;
    const rest = line.slice(CLIENT_MARK.length + 1);
    if (rest === "ready") markReady();
    else markSummary(JSON.parse(rest) as ClientSummary);
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    if (client.exitCode === null) client.kill("SIGKILL");
    controller.abort();
    await running;
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      ready,
      client.exited.then((code) => Promise.reject(new Error(`dashboard client exited ${code} before it was served`))),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`dashboard client not served within ${timeoutMs} ms`)), timeoutMs))),
    ]);
  } catch (error) {
    await close();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return {
    url,
    async finish() {
      client.kill("SIGTERM");
      const [result] = await Promise.all([summary, client.exited]);
      return result;
    },
    close,
  };
}
