// GET /api/v1/events: server-sent events fed by the event bus (SPEC §19): a job's end reaches an open stream,
// idle streams get keep-alive comments, and a client that stops reading is dropped instead of growing memory.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect as tcpConnect } from "node:net";
import { EventBus, silentLogger } from "../../src/index.ts";
import { EventStream } from "../../src/http/event-stream.ts";
import { eventually } from "../support/helpers.ts";
import { startNode, type TestNode } from "./helpers.ts";

let node: TestNode;

beforeAll(async () => {
  node = await startNode();
});

afterAll(() => node.stop());

/** One server-sent event (or comment) as parsed from the stream. */
interface Sse {
  event?: string;
  data?: string;
  id?: string;
  comment?: string;
}

/** Parses a `text/event-stream` body into events and comments, as they arrive. */
async function* sseOf(body: ReadableStream<Uint8Array>): AsyncGenerator<Sse> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const message: Sse = {};
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) message.comment = line.slice(1).trim();
        const m = /^(event|data|id): ?(.*)$/.exec(line);
        if (m) message[m[1] as "event" | "data" | "id"] = m[2];
      }
      yield message;
    }
  }
}

/** The next message `match` accepts; the stream stays open for the next call (a for-await would close it). */
async function first(stream: AsyncGenerator<Sse>, match: (m: Sse) => boolean): Promise<Sse> {
  for (;;) {
    const next = await stream.next();
    if (next.done) throw new Error("the event stream ended first");
    if (match(next.value)) return next.value;
  }
}

test("a job enqueued through the API reaches an open stream as job:finished, with its outcome and state", async () => {
  const res = await node.call("/api/v1/events", { token: null, headers: { accept: "text/event-stream" } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  const stream = sseOf(res.body!);
  // The hello event means this client is subscribed: nothing after it can be missed.
  await first(stream, (m) => m.event === "hello");
  const { body } = await node.json("/api/v1/jobs", { body: { kind: "echo", args: { n: 42 } } });
  const finished = await first(stream, (m) => m.event === "job:finished" && JSON.parse(m.data!).job.id === body.job.id);
  expect(JSON.parse(finished.data!)).toMatchObject({ job: { id: body.job.id, kind: "echo", queue: "default", attempt: 1 }, outcome: "success", state: "succeeded", applied: true });
  expect(Number(finished.id)).toBeGreaterThan(0);
  await stream.return(undefined);
});

test("a stream that sees nothing gets keep-alive comments", async () => {
  const bus = new EventBus(silentLogger);
  const events = new EventStream(bus, { keepAliveMs: 20 });
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req, srv) => events.open(req, srv) });
  try {
    const stream = sseOf((await fetch(server.url)).body!);
    expect((await first(stream, (m) => m.comment !== undefined)).comment).toBe("keep-alive");
    await stream.return(undefined);
  } finally {
    events.close();
    await server.stop(true);
  }
});

test("events emitted close together go out in one write, in order, batchMs after the first", async () => {
  const bus = new EventBus(silentLogger);
  const events = new EventStream(bus, { batchMs: 30 });
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req, srv) => events.open(req, srv) });
  try {
    const body = (await fetch(server.url)).body!.getReader();
    const decoder = new TextDecoder();
    expect(decoder.decode((await body.read()).value)).toContain("event: hello");
    for (const id of ["a", "b", "c"]) bus.emit("job:cancelled", { jobId: id });
    const chunk = decoder.decode((await body.read()).value);
    expect([...chunk.matchAll(/"job_id":"(\w)"/g)].map((m) => m[1])).toEqual(["a", "b", "c"]);
    expect([...chunk.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))).toEqual([1, 2, 3]);
    await body.cancel();
  } finally {
    events.close();
    await server.stop(true);
  }
});

test("?summary: one summary event per batch, counting each event, beside a full client that gets every event", async () => {
  const bus = new EventBus(silentLogger);
  const events = new EventStream(bus, { batchMs: 30 });
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req, srv) => events.open(req, srv) });
  const decoder = new TextDecoder();
  try {
    const summary = (await fetch(new URL("/?summary", server.url))).body!.getReader();
    const full = (await fetch(server.url)).body!.getReader();
    expect(decoder.decode((await summary.read()).value)).toContain("event: hello");
    expect(decoder.decode((await full.read()).value)).toContain("event: hello");
    for (const id of ["a", "b", "c"]) bus.emit("job:cancelled", { jobId: id });
    bus.emit("periodic:failed", { slug: "s", error: "boom" });
    const counted = decoder.decode((await summary.read()).value);
    expect(counted).toMatch(/^id: \d+\nevent: summary\ndata: \{"job:cancelled":3,"periodic:failed":1\}\n\n$/);
    const every = decoder.decode((await full.read()).value);
    expect([...every.matchAll(/^event: (.+)$/gm)].map((m) => m[1])).toEqual(["job:cancelled", "job:cancelled", "job:cancelled", "periodic:failed"]);
    await full.cancel();
    // With only summary clients left, the next batch is still counted and sent.
    await eventually("the full client to be gone", () => events.clients === 1 || null);
    bus.emit("job:cancelled", { jobId: "d" });
    expect(decoder.decode((await summary.read()).value)).toContain('data: {"job:cancelled":1}');
    await summary.cancel();
  } finally {
    events.close();
    await server.stop(true);
  }
});

test("a client that stops reading is dropped once its queue passes the bound; a reading one stays", async () => {
  const bus = new EventBus(silentLogger);
  const events = new EventStream(bus, { clientBufferBytes: 64 * 1024, batchMs: 1 });
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req, srv) => events.open(req, srv) });
  const socket = tcpConnect(server.port!, "127.0.0.1");
  const reader = sseOf((await fetch(server.url)).body!);
  let read = 0;
  const reading = (async () => {
    for await (const _ of reader) read++;
  })();
  try {
    socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
    await new Promise<void>((resolve) => socket.once("data", () => resolve()));
    socket.pause();
    expect(events.clients).toBe(2);
    const ref = { id: "j", kind: "k", queue: "q", attempt: 1, runId: "r" };
    const payload = { job: ref, outcome: "error" as const, applied: true, state: "retryable" as const, errorClass: "transient" as const, errorMessage: "x".repeat(2_000), durationMs: 1, output: null, retryDelayMs: 1_000 };
    // The kernel's socket buffers fill first, then the stream's queue; past the bound the client is dropped.
    // Each round's burst (32 KB) stays under the bound, and the next waits until the reading client has read it,
    // so that client is never behind by more than one batch: it must stay, whatever the machine's speed.
    for (let round = 0; round < 10_000 && events.clients > 1; round++) {
      for (let i = 0; i < 16; i++) bus.emit("job:finished", payload);
      await eventually(`the reading client to read round ${round}`, () => read >= 16 * (round + 1), 10_000, 1);
    }
    expect(events.clients).toBe(1);
    expect(read).toBeGreaterThan(100);
  } finally {
    socket.destroy();
    events.close();
    await reading;
    await server.stop(true);
  }
});

test("stopping the node ends open streams", async () => {
  const other = await startNode({ runners: false });
  const res = await other.call("/api/v1/events", { token: null });
  const stream = sseOf(res.body!);
  await first(stream, (m) => m.event === "hello");
  await other.stop();
  const rest: Sse[] = [];
  try {
    for await (const message of stream) rest.push(message);
  } catch {
    // A stream cut by the server's stop may end with a reset instead of a clean end.
  }
  expect(rest.every((m) => m.event === undefined)).toBe(true);
});
