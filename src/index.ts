export { connect, Flywheel } from "./client.ts";
export type { ConnectOptions, ConnectTarget, InsertManyItem, InsertManyResult, PeriodicSpec } from "./client.ts";
export { defineWorker } from "./worker.ts";
export { Node, NODE_DEFAULTS } from "./node.ts";
export type { NodeOptions } from "./node.ts";
export { Runner, RUNNER_DEFAULTS } from "./runner.ts";
export type { RunnerOptions } from "./runner.ts";
export { Scheduler, SCHEDULER_DEFAULTS } from "./scheduler.ts";
export type { SchedulerOptions } from "./scheduler.ts";
export type { HttpOptions } from "./http-server.ts";
export { FixedClock, systemClock } from "./clock.ts";
export type { Clock } from "./clock.ts";
export { parseDuration, formatDuration } from "./duration.ts";
export type { Duration } from "./duration.ts";
export { backoffDelay } from "./backoff.ts";
export {
  AlreadyEnqueuedError,
  FlywheelError,
  JobNotFoundError,
  PeriodicNotFoundError,
  PermanentError,
  ValidationError,
  WorkerError,
} from "./errors.ts";
export type { FlywheelErrorCode } from "./errors.ts";
export { createLogger, silentLogger } from "./logger.ts";
export type { Logger, LoggerOptions, LogLevel, LogFields } from "./logger.ts";
export { Metrics } from "./observe/metrics.ts";
export { loggerObserver, multiObserver } from "./observe/observer.ts";
export type { Observer, ClaimEvent, StartEvent, FinishEvent, RetryEvent, JobRef } from "./observe/observer.ts";
export { JOB_STATES, TERMINAL_STATES, CLAIMABLE_STATES, isTerminal } from "./types.ts";
export type * from "./types.ts";
