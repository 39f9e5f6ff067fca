import { hostname } from "node:os";
import { systemClock, type Clock } from "../core/clock.ts";
import { newId } from "../core/id.ts";
import { silentLogger, type Logger } from "../core/logger.ts";
import type { Driver } from "../driver/types.ts";
import { Finalizer } from "../jobs/finalizer.ts";
import { InflightAttempts } from "./attempts.ts";
import { EventBus } from "./events.ts";
import { JobBuilder } from "./job-builder.ts";
import { WorkerRegistry } from "./registry.ts";
import { WakeHub } from "./wake.ts";

/**
 * Everything the runtime's parts share, built once per client and handed down: runners, attempts, the
 * finalizer and maintenance read what they need from it and never call back into the client.
 */
export interface RuntimeContext {
  /** The dialect driver; nothing above it writes SQL. */
  readonly driver: Driver;
  /** The source of every instant written or decided on. */
  readonly clock: Clock;
  readonly logger: Logger;
  /** What happens, for metrics, logs, observers and tests. */
  readonly events: EventBus;
  readonly registry: WorkerRegistry;
  /** Builds validated job rows: inserts, follow-ups, periodic fires. */
  readonly builder: JobBuilder;
  /** This process in `job_runs.executor_id`. */
  readonly executorId: string;
  /** Attempts running here, for cancel. */
  readonly inflight: InflightAttempts;
  /** Wake-ups for idle runners. */
  readonly wake: WakeHub;
  /** Commits outcomes that do not ride with a claim. */
  readonly finalizer: Finalizer;
}

/** The parts of a runtime a caller may choose. `{}` means: system clock, silent logger, `<hostname>:<pid>:<random>` as executor id. */
export interface RuntimeOptions {
  clock?: Clock;
  logger?: Logger;
  executorId?: string;
}

/** Builds the runtime context of one client on `driver`. */
export function createRuntime(driver: Driver, options: RuntimeOptions = {}): RuntimeContext {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const events = new EventBus(logger);
  const registry = new WorkerRegistry();
  return {
    driver,
    clock,
    logger,
    events,
    registry,
    builder: new JobBuilder(registry),
    executorId: options.executorId ?? `${hostname()}:${process.pid}:${newId().slice(-6)}`,
    inflight: new InflightAttempts(),
    wake: new WakeHub(driver, clock),
    finalizer: new Finalizer(driver, clock, logger, events),
  };
}
