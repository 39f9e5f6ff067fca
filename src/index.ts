// The public API of `flywheel`: re-exports only. `flywheel/testing`, `flywheel/workers` and `flywheel/daemon`
// are the other entry points.
export { connect } from "./connect.ts";
export type { ConnectOptions, ConnectTarget, PostgresTx, SqliteTx } from "./connect.ts";
export { Flywheel } from "./flywheel.ts";
export type { FlywheelOptions, InsertManyItem, InsertManyResult } from "./flywheel.ts";
export type { PeriodicSpec } from "./periodic/spec.ts";
export type { LimitSettings } from "./messaging/limits.ts";
export { defineWorker } from "./runtime/define-worker.ts";
export { defineWorkflow } from "./workflow/define-workflow.ts";
export { defineFlow } from "./workflow/flow.ts";
export type { Flow, FlowDefinition, FlowStep, FlowStepInput } from "./workflow/flow.ts";
export type { Workflow, WorkflowDefinition } from "./workflow/define-workflow.ts";
export type { ChildHandle, StepOptions, WorkflowContext } from "./workflow/context.ts";
export { EventBus } from "./runtime/events.ts";
export type { FlywheelEvents, FlywheelEventName, Listener } from "./runtime/events.ts";
export type { RuntimeContext } from "./runtime/context.ts";
export { Node } from "./node/node.ts";
export type { NodeOptions } from "./node/node.ts";
export type { HttpOptions } from "./node/http-server.ts";
export { Runner } from "./jobs/runner.ts";
export type { RunnerOptions } from "./jobs/settings.ts";
export { Scheduler } from "./maintenance/scheduler.ts";
export type { SchedulerOptions } from "./maintenance/scheduler.ts";
export { backoffDelay } from "./jobs/retry-policy.ts";
export {
  BACKOFF_DEFAULTS,
  HTTP_DEFAULTS,
  JOB_DEFAULTS,
  MAINTENANCE_DEFAULTS,
  NODE_DEFAULTS,
  PERIODIC_DEFAULTS,
  POSTGRES_DEFAULTS,
  RUNNER_DEFAULTS,
  SQLITE_DEFAULTS,
} from "./core/defaults.ts";
export { FixedClock, systemClock } from "./core/clock.ts";
export type { Clock } from "./core/clock.ts";
export { parseDuration, formatDuration } from "./core/duration.ts";
export type { Duration } from "./core/duration.ts";
export {
  AlreadyEnqueuedError,
  ChildFailedError,
  FlywheelError,
  JobFailedError,
  JobNotFoundError,
  PeriodicNotFoundError,
  PermanentError,
  ValidationError,
  WorkerError,
} from "./core/errors.ts";
export type { FlywheelErrorCode } from "./core/errors.ts";
export { createLogger, silentLogger } from "./core/logger.ts";
export type { Logger, LoggerOptions, LogFormat, LogLevel, LogFields } from "./core/logger.ts";
export { Metrics } from "./observe/metrics.ts";
export { attachObserver, loggerObserver, multiObserver } from "./observe/observer.ts";
export { jobOutputLogger } from "./observe/job-output.ts";
export type { Observer, ClaimEvent, StartEvent, FinishEvent, RetryEvent, JobRef } from "./observe/observer.ts";
export { JOB_STATES, TERMINAL_STATES, CLAIMABLE_STATES, isTerminal } from "./core/types.ts";
export type * from "./core/types.ts";
