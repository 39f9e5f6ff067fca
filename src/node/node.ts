import { NODE_DEFAULTS, RUNNER_DEFAULTS } from "../core/defaults.ts";
import { parseDuration, type Duration } from "../core/duration.ts";
import { Runner } from "../jobs/runner.ts";
import type { RunnerOptions } from "../jobs/settings.ts";
import { Scheduler, type SchedulerOptions } from "../maintenance/scheduler.ts";
import type { Metrics } from "../observe/metrics.ts";
import type { RuntimeContext } from "../runtime/context.ts";
import type { ControlPlane } from "../http/control.ts";
import { httpSettings, startHttpServer, type HttpOptions, type HttpServer } from "./http-server.ts";
import { NodeRegistration } from "./registry.ts";

/**
 * A node's parts. `{}` means ({@link NODE_DEFAULTS}): one runner on queues `default` and `periodic` with default
 * settings, the scheduler on, no HTTP server, 30 s drain timeout. With `http`, the server also carries the API and
 * dashboard (SPEC §19) when the node has a control plane (`fw.node()` gives it one); see {@link HttpOptions}. `scheduler: false` turns the scheduler off
 * (run it on some nodes only if you like; several at once are safe).
 */
export interface NodeOptions {
  runners?: RunnerOptions[];
  scheduler?: SchedulerOptions | false;
  http?: HttpOptions | false;
  /** On shutdown, how long to wait for in-flight attempts before aborting their signals. */
  drainTimeout?: Duration;
}

/**
 * One process's runtime: runners, the scheduler (maintenance) and the HTTP server under one lifecycle.
 * @example
 * const node = fw.node({ runners: [{ queues: ["default"], concurrency: 8 }], scheduler: {}, http: { port: 7741 } });
 * const stop = new AbortController();
 * process.on("SIGTERM", () => stop.abort());
 * await node.run(stop.signal); // resolves after a clean drain
 */
export class Node {
  readonly #ctx: RuntimeContext;
  readonly #metrics: Metrics;
  readonly #runners: Runner[];
  readonly #scheduler: Scheduler | null;
  readonly #http: HttpOptions | false;
  readonly #drainTimeoutMs: number;
  readonly #control: ControlPlane | null;
  readonly #queues: string[];
  #server: HttpServer | null = null;

  /**
   * Validates every part's options now, so a bad option fails here rather than once the node runs. `control` is
   * what the HTTP API acts through (the client that made the node); without it the server has no API or dashboard.
   */
  constructor(ctx: RuntimeContext, metrics: Metrics, options: NodeOptions = {}, control: ControlPlane | null = null) {
    this.#ctx = ctx;
    this.#metrics = metrics;
    const runners = options.runners ?? [{ queues: [...NODE_DEFAULTS.queues] }];
    this.#runners = runners.map((o) => new Runner(ctx, o));
    this.#queues = [...new Set(runners.flatMap((o) => o.queues ?? RUNNER_DEFAULTS.queues))];
    this.#scheduler = options.scheduler === false ? null : new Scheduler(ctx, options.scheduler ?? {});
    this.#http = options.http ?? false;
    if (this.#http) httpSettings(this.#http);
    this.#control = control;
    this.#drainTimeoutMs = options.drainTimeout !== undefined ? parseDuration(options.drainTimeout) : NODE_DEFAULTS.drainTimeoutMs;
  }

  /** The HTTP server's URL while `run` is serving, else null. */
  get url(): URL | null {
    return this.#server ? new URL(this.#server.url) : null;
  }

  /**
   * Runs until `signal` aborts, then stops claiming, waits for in-flight attempts (bounded by `drainTimeout`),
   * persists their outcomes, closes the server and resolves. A part that cannot go on (the database file is
   * damaged) drains the others the same way, then rejects with its error.
   */
  async run(signal: AbortSignal): Promise<void> {
    const stop = new AbortController();
    const forward = () => stop.abort(signal.reason);
    if (signal.aborted) forward();
    signal.addEventListener("abort", forward, { once: true });
    try {
      await this.#run(stop);
    } finally {
      signal.removeEventListener("abort", forward);
    }
  }

  async #run(stop: AbortController): Promise<void> {
    const signal = stop.signal;
    const { logger, executorId, events } = this.#ctx;
    if (this.#http) {
      const plane = this.#control && { control: this.#control, node: { queues: this.#queues, startedAt: this.#ctx.clock.now() } };
      this.#server = startHttpServer(this.#ctx, this.#metrics, this.#http, plane);
    }
    logger.info("flywheel: node started", {
      executor_id: executorId,
      runners: this.#runners.length,
      scheduler: this.#scheduler !== null,
      http: this.#server?.url.href,
    });
    const registration = new NodeRegistration(this.#ctx, this.#queues);
    await registration.start();
    events.emit("node:started", { executorId });
    try {
      const parts: Promise<unknown>[] = this.#runners.map((r) => r.run(signal, { drainTimeoutMs: this.#drainTimeoutMs }));
      if (this.#scheduler) parts.push(this.#scheduler.run(signal));
      // A node of no runners and no scheduler (one that only serves the dashboard and API) still runs until told
      // to stop, as every other node does.
      parts.push(aborted(signal));
      let failure: unknown = null;
      for (const part of parts) {
        part.catch((error) => {
          failure ??= error;
          stop.abort(error);
        });
      }
      await Promise.allSettled(parts);
      if (failure !== null) throw failure;
    } finally {
      await registration.stop();
      await this.#server?.stop();
      this.#server = null;
      logger.info("flywheel: node stopped", { executor_id: executorId });
      events.emit("node:stopped", { executorId });
    }
  }
}

/** Resolves once `signal` aborts. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
