// A local HTTP receiver for alert tests: records every request, answers with the status the test chooses, and
// lets a test await the requests it expects (bounded), instead of sleeping.

/** One request the receiver got. */
export interface Received {
  method: string;
  /** Path without the query. */
  path: string;
  query: URLSearchParams;
  headers: Headers;
  body: string;
}

/** Decides the status of the `index`-th request (0-based, over every request so far); default 200. */
export type Responder = (request: Received, index: number) => number;

/** A Bun.serve receiver on a free loopback port. */
export class Receiver {
  readonly requests: Received[] = [];
  readonly #server: ReturnType<typeof Bun.serve>;
  readonly #waiters = new Set<() => void>();

  constructor(respond: Responder = () => 200) {
    this.#server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async (req) => {
        const url = new URL(req.url);
        const received: Received = { method: req.method, path: url.pathname, query: url.searchParams, headers: req.headers, body: await req.text() };
        const index = this.requests.push(received) - 1;
        for (const wake of this.#waiters) wake();
        return new Response(null, { status: respond(received, index) });
      },
    });
  }

  /** The receiver's base URL, without a trailing slash. */
  get url(): string {
    return `http://127.0.0.1:${this.#server.port}`;
  }

  /** The requests `match` accepts, in arrival order. */
  matching(match: (r: Received) => boolean): Received[] {
    return this.requests.filter(match);
  }

  /** Resolves once `count` requests that `match` accepts have arrived (with them); rejects after `timeoutMs`, naming `what`. */
  waitFor(what: string, match: (r: Received) => boolean, count = 1, timeoutMs = 20_000): Promise<Received[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.matching(match);
        if (found.length < count) return false;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${count} × ${what}; got ${this.requests.map((r) => `${r.method} ${r.path}`).join(", ") || "nothing"}`));
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  stop(): Promise<void> {
    return this.#server.stop(true);
  }
}

/** The JSON body of a webhook request. */
export function jsonOf(r: Received): Record<string, any> {
  return JSON.parse(r.body) as Record<string, any>;
}
