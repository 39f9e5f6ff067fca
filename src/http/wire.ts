import { hostname } from "node:os";
import { parseDuration } from "../core/duration.ts";
import type { JobRecord, PeriodicRecord, RunRecord, WorkerDefinition } from "../core/types.ts";
import { VERSION } from "../core/version.ts";
import type { FlywheelEventName, FlywheelEvents, JobRef } from "../runtime/events.ts";
import {
  bindingJson,
  commandOutputOf,
  failureJson,
  healthJson,
  historyJson,
  iso,
  jobJson,
  nodeJson as registryNodeJson,
  periodicJson,
  queueJson,
  runJson,
  stepJson,
} from "../observe/json.ts";
import type { NodeInfo } from "./control.ts";

// The JSON the API answers with. Jobs, runs, steps, periodics, health and failures have the shapes `--json`
// prints (src/observe/json.ts: one shape for both), so a script can move between the CLI and the API; what only the API shows is
// shaped here, snake_case with ISO-8601 UTC times like the rest.

export { bindingJson, failureJson, healthJson, historyJson, jobJson, queueJson, registryNodeJson, runJson, stepJson };

/** A registered worker's kind and the defaults its jobs get. */
export function kindJson(kind: string, worker: WorkerDefinition<any, any> | undefined) {
  return {
    kind,
    queue: worker?.queue ?? null,
    priority: worker?.priority ?? null,
    max_attempts: worker?.maxAttempts ?? null,
    timeout_ms: worker?.timeout === undefined ? null : parseDuration(worker.timeout),
    args_schema: worker?.args !== undefined,
  };
}

/** The job a schedule last enqueued, and how its latest attempt ended. */
export function lastFireJson(job: JobRecord, run: RunRecord | undefined) {
  const command = run ? commandOutputOf(run.output) : null;
  return {
    job_id: job.id,
    state: job.state,
    enqueued_at: iso(job.createdAt),
    outcome: run?.outcome ?? null,
    exit_code: command?.exitCode ?? null,
    duration_ms: run?.durationMs ?? null,
    error_message: run?.errorMessage ?? null,
    finished_at: iso(run?.finishedAt ?? null),
  };
}

/** A schedule as the API shows it: the periodic, plus its last fire when one is known. */
export function scheduleJson(p: PeriodicRecord, last: ReturnType<typeof lastFireJson> | null = null) {
  return { ...periodicJson(p), last_error: p.lastError, last_error_at: iso(p.lastErrorAt), last_fire: last };
}

/** This node. */
export function nodeJson(executorId: string, node: NodeInfo, writable: boolean) {
  return {
    executor_id: executorId,
    host: hostname(),
    pid: process.pid,
    version: VERSION,
    queues: node.queues,
    started_at: node.startedAt.toISOString(),
    writable,
  };
}

function refJson(job: JobRef) {
  return { id: job.id, kind: job.kind, queue: job.queue, attempt: job.attempt, run_id: job.runId };
}

/**
 * The events the stream forwards, each as it is sent. A finished attempt's output is left out (it can be
 * 64 KiB of stdout per stream); `GET /api/v1/jobs/:id` has it.
 */
export const EVENT_JSON = {
  "job:claimed": (e: FlywheelEvents["job:claimed"]) => ({ job: refJson(e.job), executor_id: e.executorId }),
  "job:started": (e: FlywheelEvents["job:started"]) => ({ job: refJson(e.job) }),
  "job:finished": (e: FlywheelEvents["job:finished"]) => ({
    job: refJson(e.job),
    outcome: e.outcome,
    applied: e.applied,
    state: e.state,
    error_class: e.errorClass,
    error_message: e.errorMessage,
    duration_ms: e.durationMs,
  }),
  "job:retry": (e: FlywheelEvents["job:retry"]) => ({ job: refJson(e.job), next_attempt: e.nextAttempt, delay_ms: e.delayMs }),
  "job:cancelled": (e: FlywheelEvents["job:cancelled"]) => ({ job_id: e.jobId }),
  "job:refused": (e: FlywheelEvents["job:refused"]) => ({ job_id: e.jobId, run_id: e.runId, error: e.error }),
  "periodic:fired": (e: FlywheelEvents["periodic:fired"]) => ({ slug: e.slug, enqueued: e.enqueued, skipped: e.skipped, reason: e.reason }),
  "periodic:failed": (e: FlywheelEvents["periodic:failed"]) => ({ slug: e.slug, error: e.error }),
} satisfies { [K in FlywheelEventName]?: (payload: FlywheelEvents[K]) => Record<string, unknown> };

/** An event the stream forwards. */
export type StreamedEvent = keyof typeof EVENT_JSON;

// The responses, as types the dashboard shares with the routes that build them.

/** A job. */
export type JobJson = ReturnType<typeof jobJson>;
/** One attempt of a job. */
export type RunJson = ReturnType<typeof runJson>;
/** One workflow step. */
export type StepJson = ReturnType<typeof stepJson>;
/** A schedule with its last fire. */
export type ScheduleJson = ReturnType<typeof scheduleJson>;
/** A discarded job and its last error. */
export type FailureJson = ReturnType<typeof failureJson>;
/** Queue health. */
export type HealthJson = ReturnType<typeof healthJson>;

/** A queue in `GET /api/v1/queues`. */
export type QueueJson = ReturnType<typeof queueJson>;

/** A node of the registry in `GET /api/v1/nodes` and the overview; `self` marks the node answering. */
export type RegistryNodeJson = ReturnType<typeof registryNodeJson> & { self: boolean };

/** Attempts finished per bucket, oldest first. */
export interface ThroughputJson {
  bucket_seconds: number;
  buckets: Array<{ start: string; succeeded: number; failed: number }>;
}

/** `GET /api/v1/overview`. */
export interface OverviewResponse {
  node: ReturnType<typeof nodeJson>;
  kinds: Array<ReturnType<typeof kindJson>>;
  health: HealthJson;
  /** Every queue this node serves, its workers' and schedules' use, that holds jobs, or that is paused. */
  queues: Array<{ name: string; paused: boolean; paused_by: string | null } & HealthJson>;
  counts: Array<{ kind: string; state: JobJson["state"]; count: number }>;
  schedules: ScheduleJson[];
  failures: FailureJson[];
  throughput: ThroughputJson;
  /** Every live node of the registry (SPEC §18), as `GET /api/v1/nodes` lists them. */
  nodes: RegistryNodeJson[];
}

/** `GET /api/v1/jobs`: a page, and the cursor of the next (older) one. */
export interface JobListResponse {
  jobs: JobJson[];
  next_before: string | null;
}

/** `GET /api/v1/jobs/:id`. */
export interface JobDetailResponse {
  job: JobJson;
  runs: RunJson[];
  steps: StepJson[];
  history: Array<ReturnType<typeof historyJson>>;
}

/** Every error answer. */
export interface ErrorResponse {
  error: { code: string; message: string; field?: string; existing_id?: string };
}
