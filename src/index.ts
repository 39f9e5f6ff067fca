export { connect, Flywheel } from "./flywheel.ts";
export type { ConnectOptions, ConnectTarget, InsertManyItem, InsertManyResult, PeriodicSpec } from "./flywheel.ts";
export { defineWorker } from "./runtime/define-worker.ts";
export { Node, NODE_DEFAULTS } from "./node/node.ts";
export type { NodeOptions } from "./node/node.ts";
export { Runner, RUNNER_DEFAULTS } from "./jobs/runner.ts";
export type { RunnerOptions } from "./jobs/runner.ts";
export { Scheduler, SCHEDULER_DEFAULTS } from "./maintenance/maintainer.ts";
export type { SchedulerOptions } from "./maintenance/maintainer.ts";
export type { HttpOptions } from "./node/http-server.ts";
export { FixedClock, systemClock } from "./core/clock.ts";
export type { Clock } from "./core/clock.ts";
export { parseDuration, formatDuration } from "./core/duration.ts";
export type { Duration } from "./core/duration.ts";
export { backoffDelay } from "./jobs/retry-policy.ts";
export {
  AlreadyEnqueuedError,
  FlywheelError,
  JobNotFoundError,
  PeriodicNotFoundError,
  PermanentError,
  ValidationError,
  WorkerError,
} from "./core/errors.ts";
export type { FlywheelErrorCode } from "./core/errors.ts";
export { createLogger, silentLogger } from "./core/logger.ts";
export type { Logger, LoggerOptions, LogLevel, LogFields } from "./core/logger.ts";
export { Metrics } from "./observe/metrics.ts";
export { loggerObserver, multiObserver } from "./observe/observer.ts";
export type { Observer, ClaimEvent, StartEvent, FinishEvent, RetryEvent, JobRef } from "./observe/observer.ts";
export { JOB_STATES, TERMINAL_STATES, CLAIMABLE_STATES, isTerminal } from "./core/types.ts";
export type * from "./core/types.ts";
