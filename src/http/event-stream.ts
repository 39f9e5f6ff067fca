import type { Server } from "bun";
import type { EventBus } from "../runtime/events.ts";
import { HTTP_API_DEFAULTS } from "../core/defaults.ts";
import { EVENT_JSON, type StreamedEvent } from "./wire.ts";

/** Cadence and bounds of an {@link EventStream}. `{}` means {@link HTTP_API_DEFAULTS}. */
export interface EventStreamOptions {
  keepAliveMs?: number;
  /** How long events gather before they go out together. */
  batchMs?: number;
  retryMs?: number;
  /** Bytes held for a client that does not read before its stream is closed. */
  clientBufferBytes?: number;
}

/**
 * One open stream. Events wait in `queue` until the response asks for more (`pull`), so what a client has not
 * read is counted here, where it can be bounded, rather than inside the stream.
 */
interface Client {
  controller: ReadableStreamDefaultController<Uint8Array>;
  /** `?summary`: one `summary` event per batch (how many of each event) instead of every event. */
  summary: boolean;
  queue: Uint8Array[];
  queuedBytes: number;
  /** The response asked for data while the queue was empty: the next chunk goes straight through. */
  wanting: boolean;
}

const encoder = new TextEncoder();

/**
 * `GET /api/v1/events`: job and schedule changes as server-sent events, fed by the node's event bus. Each event
 * is encoded once and handed to every open stream, so a client costs no database read. A stream's queue is
 * bounded: a client that stops reading is dropped once `clientBufferBytes` wait for it (it reconnects and
 * reloads), so no client can make the node's memory grow. A client that only needs to know that something
 * happened (the dashboard, which reloads on any event) asks with `?summary` for one `summary` event per batch
 * holding how many of each event there were: while only such clients listen, an event costs a counter, not an
 * encode, so a dashboard left open does not tax a busy node. Ids count up per server; missed events are not
 * replayed, a reconnecting client reloads what it shows instead.
 */
export class EventStream {
  readonly #clients = new Set<Client>();
  readonly #unsubscribe: Array<() => void>;
  readonly #keepAliveMs: number;
  readonly #batchMs: number;
  readonly #retryMs: number;
  readonly #bufferBytes: number;
  #keepAlive: ReturnType<typeof setInterval> | null = null;
  #nextId = 1;
  /**
   * Events emitted since the last flush, already formatted. A busy node emits three events per job; they go out
   * together `batchMs` after the first, one encode and one write per client instead of one per event: the runners
   * share this thread, and on SQLite their database work too.
   */
  #pending = "";
  /** Events emitted since the last flush, counted by name, for summary clients. */
  #counts: Partial<Record<StreamedEvent, number>> = {};
  /** Open streams that take every event (the rest take summaries). */
  #full = 0;
  #flushing: ReturnType<typeof setTimeout> | null = null;

  constructor(events: EventBus, options: EventStreamOptions = {}) {
    this.#keepAliveMs = options.keepAliveMs ?? HTTP_API_DEFAULTS.sseKeepAliveMs;
    this.#batchMs = options.batchMs ?? HTTP_API_DEFAULTS.sseBatchMs;
    this.#retryMs = options.retryMs ?? HTTP_API_DEFAULTS.sseRetryMs;
    this.#bufferBytes = options.clientBufferBytes ?? HTTP_API_DEFAULTS.sseClientBufferBytes;
    this.#unsubscribe = (Object.keys(EVENT_JSON) as StreamedEvent[]).map((name) =>
      events.on(name, (payload) => {
        if (this.#clients.size === 0) return;
        if (this.#full > 0) {
          const data = (EVENT_JSON[name] as (p: typeof payload) => unknown)(payload);
          this.#pending += `id: ${this.#nextId++}\nevent: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
        }
        if (this.#clients.size > this.#full) this.#counts[name] = (this.#counts[name] ?? 0) + 1;
        this.#flushing ??= setTimeout(() => this.#flush(), this.#batchMs);
      }),
    );
  }

  /** Open streams. */
  get clients(): number {
    return this.#clients.size;
  }

  /** Opens a stream for `request`; it stays open until the client leaves, falls too far behind, or {@link close}. */
  open(request: Request, server: Server<unknown>): Response {
    // Bun closes a connection idle for 10 s by default; a quiet stream is idle between keep-alives.
    server.timeout(request, 0);
    let client: Client;
    const summary = new URL(request.url).searchParams.has("summary");
    const stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          client = { controller, summary, queue: [], queuedBytes: 0, wanting: false };
          this.#clients.add(client);
          if (!summary) this.#full++;
          this.#send(client, encoder.encode(`retry: ${this.#retryMs}\n\nevent: hello\ndata: {}\n\n`));
          this.#keepAlive ??= setInterval(() => this.#broadcast(encoder.encode(": keep-alive\n\n")), this.#keepAliveMs);
        },
        pull: () => {
          if (client.queue.length === 0) {
            client.wanting = true;
            return;
          }
          client.controller.enqueue(Buffer.concat(client.queue));
          client.queue = [];
          client.queuedBytes = 0;
        },
        cancel: () => this.#forget(client),
      },
      // Nothing is read ahead: Bun pulls when the socket takes more, so a client that does not read stops the pulls.
      { highWaterMark: 0 },
    );
    return new Response(stream, {
      headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no" },
    });
  }

  /** Ends every stream and stops listening to the bus. */
  close(): void {
    for (const off of this.#unsubscribe) off();
    if (this.#flushing !== null) clearTimeout(this.#flushing);
    this.#flushing = null;
    this.#pending = "";
    this.#counts = {};
    for (const client of [...this.#clients]) {
      this.#forget(client);
      client.controller.close();
    }
  }

  #flush(): void {
    this.#flushing = null;
    const text = this.#pending;
    const counts = this.#counts;
    this.#pending = "";
    this.#counts = {};
    if (text !== "") this.#broadcast(encoder.encode(text), false);
    if (Object.keys(counts).length > 0) this.#broadcast(encoder.encode(`id: ${this.#nextId++}\nevent: summary\ndata: ${JSON.stringify(counts)}\n\n`), true);
  }

  /** Sends `bytes` to every client, or only to the summary clients (`true`) or the full ones (`false`). */
  #broadcast(bytes: Uint8Array, summary?: boolean): void {
    for (const client of this.#clients) if (summary === undefined || client.summary === summary) this.#send(client, bytes);
  }

  #send(client: Client, bytes: Uint8Array): void {
    if (client.wanting) {
      client.wanting = false;
      client.controller.enqueue(bytes);
      return;
    }
    client.queue.push(bytes);
    client.queuedBytes += bytes.byteLength;
    if (client.queuedBytes <= this.#bufferBytes) return;
    // Too far behind: drop what waits and end the stream; the client reconnects and reloads.
    client.queue = [];
    client.queuedBytes = 0;
    this.#forget(client);
    client.controller.close();
  }

  #forget(client: Client): void {
    if (this.#clients.delete(client) && !client.summary) this.#full--;
    if (this.#clients.size === 0 && this.#keepAlive !== null) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = null;
    }
  }
}
