/**
 * What an open dashboard asks of a node, as its own process: `bun bench/control-plane/dashboard-client.ts <url>`
 * holds `GET /api/v1/events?summary` open (as the page does: one event per batch) and asks for
 * `GET /api/v1/overview` every second, one at a time, as a page reloading its first screen would. It prints
 * `@@CLIENT@@ ready` once the stream said hello and the first overview arrived, and on SIGTERM
 * `@@CLIENT@@ {json}`: events read, overviews answered (all 200) and their latency, then exits.
 */
import { CLIENT_MARK, type ClientSummary } from "../lib/dashboard.ts";
import { percentile } from "../lib/harness.ts";

const POLL_MS = 1000;
const base = process.argv[2];
if (!base) {
  process.stderr.write("usage: bun bench/control-plane/dashboard-client.ts <node url>\n");
  process.exit(2);
}

const stop = new AbortController();
let events = 0;
let errors = 0;
const latencies: number[] = [];
let cpuSinceReady = () => 0;
let helloSeen: () => void;
const hello = new Promise<void>((resolve) => (helloSeen = resolve));

async function follow(): Promise<void> {
  const res = await fetch(new URL("/api/v1/events?summary", base), { headers: { accept: "text/event-stream" }, signal: stop.signal });
  if (!res.ok || !res.body) throw new Error(`GET /api/v1/events answered ${res.status}`);
  let pending = "";
  for await (const chunk of res.body.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    const messages = pending.split("\n\n");
    pending = messages.pop() ?? "";
    for (const m of messages) {
      if (/^event: hello$/m.test(m)) helloSeen();
      else if (/^event: /m.test(m)) events++;
    }
  }
}

async function overview(): Promise<void> {
  const t0 = performance.now();
  const res = await fetch(new URL("/api/v1/overview", base), { signal: stop.signal });
  await res.arrayBuffer();
  if (res.status === 200) latencies.push(performance.now() - t0);
  else errors++;
}

async function poll(): Promise<void> {
  let next = performance.now();
  while (!stop.signal.aborted) {
    await overview();
    next += POLL_MS;
    await Bun.sleep(Math.max(0, next - performance.now()));
  }
}

process.once("SIGTERM", () => {
  stop.abort();
  const sorted = [...latencies].sort((a, b) => a - b);
  const summary: ClientSummary = {
    sseEvents: events,
    overviews: latencies.length,
    overviewErrors: errors,
    overviewP50Ms: percentile(sorted, 50),
    overviewP99Ms: percentile(sorted, 99),
    overviewMaxMs: sorted.at(-1) ?? Number.NaN,
    clientCpuMs: cpuSinceReady(),
  };
  process.stdout.write(`${CLIENT_MARK} ${JSON.stringify(summary)}\n`, () => process.exit(0));
});

const streaming = follow().catch((error: unknown) => {
  if (!stop.signal.aborted) {
    process.stderr.write(`dashboard client: event stream: ${(error as Error).message}\n`);
    process.exit(1);
  }
});
await hello;
await overview();
// The first overview waited for the node's first census, before anything was timed: not counted.
latencies.length = 0;
const cpuAtReady = process.cpuUsage();
cpuSinceReady = () => {
  const c = process.cpuUsage(cpuAtReady);
  return (c.user + c.system) / 1000;
};
process.stdout.write(`${CLIENT_MARK} ready\n`);
void poll().catch((error: unknown) => {
  if (!stop.signal.aborted) process.stderr.write(`dashboard client: overview: ${(error as Error).message}\n`);
});
await streaming;
