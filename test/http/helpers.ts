import { join } from "node:path";
import * as v from "valibot";
import { connect, defineWorker, PermanentError, TERMINAL_STATES, type Flywheel, type HttpOptions, type JobState } from "../../src/index.ts";
import { commandWorkers } from "../../src/workers/index.ts";
import { eventually, tempDir } from "../support/helpers.ts";

/** The token test nodes accept. */
export const TOKEN = "test-token-0123456789abcdef";

/** Succeeds with its args as output. */
export const echo = defineWorker({
  kind: "echo",
  args: v.object({ n: v.optional(v.number()) }),
  maxAttempts: 3,
  timeout: "30s",
  work: (job) => ({ output: job.args }),
});

/** Fails for good at once. */
export const broken = defineWorker({
  kind: "broken",
  work: () => {
    throw new PermanentError("broken on purpose");
  },
});

/** A node with the API on, over a fresh SQLite file, and ways to call it. */
export interface TestNode {
  fw: Flywheel;
  /** The server's base URL, `http://127.0.0.1:<port>`. */
  url: string;
  /** `fetch` of `path` on the node; JSON `body` is sent as `application/json`, `token` as a bearer token. */
  call(path: string, init?: { method?: string; body?: unknown; token?: string | null; headers?: Record<string, string> }): Promise<Response>;
  /** {@link call} that returns the status and parsed JSON. */
  json(path: string, init?: Parameters<TestNode["call"]>[1]): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

/**
 * Starts a real node (runners on `default` and `periodic`, no scheduler loop: tests fire schedules with
 * `fw.tick()`) serving the API on a free loopback port.
 */
export async function startNode(options: { http?: HttpOptions; runners?: boolean } = {}): Promise<TestNode> {
  const dir = await tempDir("flywheel-http-");
  const fw = await connect(`sqlite:${join(dir.path, "jobs.db")}`);
  await fw.migrate();
  fw.register(echo, broken, ...commandWorkers());
  // `runners: false`: a node that only serves the API, as a dashboard-only node would.
  const runners = options.runners === false ? [] : [{ queues: ["default", "periodic"], pollInterval: 20 }];
  const node = fw.node({ runners, scheduler: false, http: { port: 0, apiToken: TOKEN, ...options.http } });
  const stop = new AbortController();
  const running = node.run(stop.signal);
  const url = node.url!.href.replace(/\/$/, "");
  const call: TestNode["call"] = (path, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    const token = init.token === undefined ? TOKEN : init.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (init.body !== undefined) {
      body = typeof init.body === "string" ? init.body : JSON.stringify(init.body);
      headers["content-type"] ??= "application/json";
    }
    return fetch(`${url}${path}`, { method: init.method ?? (body === undefined ? "GET" : "POST"), headers, body });
  };
  return {
    fw,
    url,
    call,
    async json(path, init) {
      const res = await call(path, init);
      return { status: res.status, body: await res.json() };
    },
    async stop() {
      stop.abort();
      await running;
      await fw.close();
      await dir.remove();
    },
  };
}

/** Waits until the job is in one of `states` (the node's runners move it) and returns that state. */
export function reaches(fw: Flywheel, id: string, states: JobState[]): Promise<JobState> {
  return eventually(`job ${id} to be ${states.join(" or ")}`, async () => {
    const { state } = await fw.findJob(id);
    return states.includes(state) ? state : null;
  });
}

/** Waits for the job to end and returns its final state. */
export function settled(fw: Flywheel, id: string): Promise<JobState> {
  return reaches(fw, id, [...TERMINAL_STATES]);
}
