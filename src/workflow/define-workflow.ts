import type { GenericSchema, InferInput, InferOutput } from "valibot";
import { FlywheelError } from "../core/errors.ts";
import type { Job, WorkResult, WorkerDefinition } from "../core/types.ts";
import { validateWorker } from "../runtime/define-worker.ts";
import type { WorkflowContext } from "./context.ts";

/** The hook the attempt envelope calls instead of `work` for a workflow; see {@link isWorkflow}. */
export const RUN_WORKFLOW: unique symbol = Symbol("flywheel.workflow");

/**
 * A workflow's definition: the options of a worker (kind, args schema, queue, priority, maxAttempts, timeout,
 * classify, retryDelay) and `run`, which is re-invoked from the top on every attempt and every wake-up.
 * Everything it does that must not be redone goes through `ctx` (steps, sleeps, waits, spawned children);
 * everything else must be deterministic (see docs/WORKFLOWS.md).
 */
export interface WorkflowDefinition<A = unknown, In = A> extends Omit<WorkerDefinition<A, In>, "work"> {
  run(ctx: WorkflowContext, args: A): Promise<WorkResult | void> | WorkResult | void;
}

/** A workflow as registered: a worker whose attempts replay `run` through a {@link WorkflowContext}. */
export type Workflow<A = unknown, In = A> = WorkerDefinition<A, In> & {
  readonly [RUN_WORKFLOW]: WorkflowDefinition<A, In>["run"];
};

/**
 * Declares a durable workflow (SPEC §17): a job whose worker can pause and resume across attempts, processes
 * and restarts. Register it and insert it like any worker; a workflow run is a job.
 * @throws ValidationError for an option it cannot use, as `defineWorker` does.
 * @example
 * const onboard = defineWorkflow({
 *   kind: "onboard_user",
 *   args: v.object({ userId: v.string() }),
 *   async run(ctx, args) {
 *     const profile = await ctx.step("load-profile", () => loadProfile(args.userId));
 *     await ctx.sleep("cool-off", "1h");
 *     const approval = await ctx.waitForEvent("approval", { timeout: "7d" });
 *     return { output: { profile, approved: approval !== null } };
 *   },
 * });
 */
export function defineWorkflow<const S extends GenericSchema>(
  definition: WorkflowDefinition<InferOutput<S>, InferInput<S>> & { args: S },
): Workflow<InferOutput<S>, InferInput<S>>;
export function defineWorkflow<A = unknown>(definition: WorkflowDefinition<A>): Workflow<A>;
export function defineWorkflow(definition: WorkflowDefinition<any, any>): Workflow<any, any> {
  const { run, ...options } = definition;
  const worker: Workflow<any, any> = {
    ...options,
    work(job: Job<unknown>) {
      // Only the runner can give a workflow its replay state; calling `work` directly is a mistake.
      throw new FlywheelError("invalid_state", `flywheel: workflow ${job.kind} runs only inside flywheel's runner`);
    },
    [RUN_WORKFLOW]: run,
  };
  validateWorker(worker);
  if (typeof run !== "function") throw new FlywheelError("validation", `flywheel: workflow ${String(definition.kind)} needs a run function`);
  return Object.freeze(worker);
}

/** Whether a registered worker is a workflow. */
export function isWorkflow(worker: WorkerDefinition<any, any>): worker is Workflow<any, any> {
  return typeof (worker as Partial<Workflow>)[RUN_WORKFLOW] === "function";
}
