import type { Flywheel } from "../flywheel.ts";
import { parseDuration, type Duration } from "../core/duration.ts";
import { startHttpServer, type HttpOptions } from "./http-server.ts";
import type { RunnerOptions } from "../jobs/runner.ts";
import type { SchedulerOptions } from "../maintenance/maintainer.ts";

/**
 * A node's parts. `{}` means: one runner on queues `default` and `periodic` with default settings, the
 * scheduler on, no HTTP server, 30 s drain timeout. `scheduler: false` turns the scheduler off (run it on
 * some nodes only if you like; several at once are safe).
 */
export interface NodeOptions {
  runners?: RunnerOptions[];
  scheduler?: SchedulerOptions | false;
  http?: HttpOptions | false;
  /** On shutdown, how long to wait for in-flight attempts before aborting their signals. */
  drainTimeout?: Duration;
}

/** Node defaults, in one place. */
export const NODE_DEFAULTS = { queues: ["default", "periodic"], drainTimeoutMs: 30_000 } as const;

/**
 * One process's runtime: runners, the periodic scheduler and the HTTP server under one lifecycle.
 * @example
 * const node = fw.node({ runners: [{ queues: ["default"], concurrency: 8 }], scheduler: {}, http: { port: 9090 } });
 * const stop = new AbortController();
 * process.on("SIGTERM", () => stop.abort());
 * await node.run(stop.signal); // resolves after a clean drain
 */
export class Node {
  readonly #fw: Flywheel;
  readonly #options: NodeOptions;
  #server: ReturnType<typeof startHttpServer> | null = null;

  constructor(fw: Flywheel, options: NodeOptions = {}) {
    this.#fw = fw;
    this.#options = options;
  }

  /** The HTTP server's URL while `run` is serving, else null. */
  get url(): URL | null {
    return this.#server ? new URL(this.#server.url) : null;
  }

  /**
   * Runs until `signal` aborts, then stops claiming, waits for in-flight attempts (bounded by `drainTimeout`),
   * persists their outcomes, closes the server and resolves.
   */
  async run(signal: AbortSignal): Promise<void> {
    const drainTimeoutMs = this.#options.drainTimeout !== undefined ? parseDuration(this.#options.drainTimeout) : NODE_DEFAULTS.drainTimeoutMs;
    const runners = (this.#options.runners ?? [{ queues: [...NODE_DEFAULTS.queues] }]).map((o) => this.#fw.runner(o));
    if (this.#options.http) this.#server = startHttpServer(this.#fw, this.#options.http);
    const logger = this.#fw.logger;
    logger.info("flywheel: node started", {
      executor_id: this.#fw.executorId,
      runners: runners.length,
      scheduler: this.#options.scheduler !== false,
      http: this.#server?.url.href,
    });
    try {
      const parts: Promise<unknown>[] = runners.map((r) => r.run(signal, { drainTimeoutMs }));
      if (this.#options.scheduler !== false) parts.push(this.#fw.scheduler(this.#options.scheduler ?? {}).run(signal));
      await Promise.all(parts);
    } finally {
      await this.#server?.stop(true);
      this.#server = null;
      logger.info("flywheel: node stopped", { executor_id: this.#fw.executorId });
    }
  }
}
