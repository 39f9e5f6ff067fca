import type { Flywheel } from "../flywheel.ts";

/**
 * What the HTTP API calls: the public methods of a {@link Flywheel} and nothing else, so the API can do exactly
 * what a library user can (SPEC §10, §17) and never reaches past the facade into drivers or runners.
 */
export type ControlPlane = Pick<
  Flywheel<any>,
  | "listJobs"
  | "findJob"
  | "resolveJobId"
  | "listRuns"
  | "listSteps"
  | "insert"
  | "cancelJob"
  | "retryJob"
  | "emit"
  | "upsertPeriodic"
  | "listPeriodics"
  | "findPeriodic"
  | "listPeriodicJobs"
  | "setPeriodicActive"
  | "triggerPeriodic"
  | "deletePeriodic"
  | "queueHealth"
  | "overview"
  | "jobCensus"
  | "recentFailures"
  | "listQueues"
  | "pausedQueues"
  | "pauseQueue"
  | "resumeQueue"
  | "listNodes"
  | "listHistory"
  | "listBindings"
  | "publish"
  | "kinds"
  | "worker"
  | "events"
  | "clock"
  | "logger"
  | "executorId"
>;

/** Who acts in the job history when a request through the API does. */
export const API_ACTOR = "api";

/** This node as the API describes it (the overview's `node`: the node answering). */
export interface NodeInfo {
  /** The queues this node's runners claim from. */
  queues: string[];
  startedAt: Date;
}
