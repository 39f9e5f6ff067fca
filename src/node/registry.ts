import { hostname } from "node:os";
import { NODE_DEFAULTS } from "../core/defaults.ts";
import { newId } from "../core/id.ts";
import { RetryLadder } from "../core/retry-ladder.ts";
import { VERSION } from "../core/version.ts";
import type { NodeRow } from "../driver/types.ts";
import type { RuntimeContext } from "../runtime/context.ts";

/**
 * A running node's row in the node registry (SPEC §18): written when the node starts, refreshed every
 * `heartbeatMs` of clock time, removed when it stops. Rows of nodes that died are removed by the next heartbeat of
 * any node once they have been silent for five of their own heartbeats. A failed heartbeat is logged on a ladder
 * and tried again at the next beat: the registry is for operators, it never stops a node.
 */
export class NodeRegistration {
  readonly #ctx: RuntimeContext;
  readonly #row: NodeRow;
  readonly #ladder: RetryLadder;
  #cancelTimer: (() => void) | null = null;
  #beating: Promise<void> = Promise.resolve();
  readonly #stop = new AbortController();

  constructor(ctx: RuntimeContext, queues: string[], heartbeatMs: number = NODE_DEFAULTS.heartbeatMs) {
    this.#ctx = ctx;
    this.#ladder = new RetryLadder(ctx.logger, "flywheel: node heartbeat failed");
    this.#row = {
      id: newId(),
      executorId: ctx.executorId,
      host: hostname(),
      pid: process.pid,
      version: VERSION,
      queues: [...queues].sort(),
      kinds: ctx.registry.kinds,
      heartbeatMs,
      startedAt: ctx.clock.now(),
    };
  }

  /** This node's registry id. */
  get id(): string {
    return this.#row.id;
  }

  /** Writes the row now and keeps it fresh until {@link NodeRegistration.stop}. */
  async start(): Promise<void> {
    await this.#beat();
  }

  /** Stops heartbeating and removes the row (a failure to remove is logged: the row then ages out). */
  async stop(): Promise<void> {
    this.#stop.abort();
    this.#cancelTimer?.();
    await this.#beating;
    try {
      await this.#ctx.driver.nodeRemove({ id: this.#row.id });
    } catch (error) {
      this.#ctx.logger.warn("flywheel: removing the node's registry row failed; it ages out", { error: (error as Error).message });
    }
  }

  #beat(): Promise<void> {
    this.#beating = (async () => {
      try {
        // Kinds registered after the node started (a late `register`) show at the next beat.
        const { removed } = await this.#ctx.driver.nodeHeartbeat({ node: { ...this.#row, kinds: this.#ctx.registry.kinds }, now: this.#ctx.clock.now() });
        this.#ladder.succeeded();
        if (removed.length > 0) this.#ctx.logger.info("flywheel: removed silent nodes from the registry", { nodes: removed });
      } catch (error) {
        // Logged once per rung; the next beat comes at its time whatever the ladder says.
        void this.#ladder.failed(error, this.#stop.signal);
      }
      if (!this.#stop.signal.aborted) this.#cancelTimer = this.#ctx.clock.setTimer(this.#row.heartbeatMs, () => void this.#beat());
    })();
    return this.#beating;
  }
}
