import type { Job, WorkResult } from "../core/types.ts";
import type { ClaimedJob } from "../driver/types.ts";
import type { RuntimeContext } from "../runtime/context.ts";
import { WorkflowContext, type Suspension } from "./context.ts";
import { RUN_WORKFLOW, type Workflow } from "./define-workflow.ts";

/** What a workflow attempt returns: a worker's result, or the wait it suspended on. */
export type WorkflowResult = WorkResult & { suspend?: Suspension };

/**
 * Runs one attempt of a workflow: loads the steps and events stored for the job, replays `run` through a
 * {@link WorkflowContext}, and returns its result, or the suspension when it paused to wait. A suspension wins
 * over whatever `run` did after it (a caught and swallowed suspension, an error thrown while unwinding).
 */
export async function runWorkflow(env: RuntimeContext, job: ClaimedJob, view: Job<unknown>, workflow: Workflow<any, any>): Promise<WorkflowResult | void> {
  const { steps, events } = await env.driver.workflowLoad({ jobId: job.id });
  const ctx = new WorkflowContext(env, job, view.signal, steps, events);
  let result: WorkResult | void;
  try {
    result = await workflow[RUN_WORKFLOW](ctx, view.args);
  } catch (error) {
    if (ctx.suspension) return { suspend: ctx.suspension };
    throw error;
  }
  if (ctx.suspension) return { suspend: ctx.suspension };
  const unreplayed = ctx.unreplayed;
  if (unreplayed.length > 0) {
    // Named steps make reordering harmless; a step that was renamed or removed while runs were in flight is
    // the one change replay cannot follow, so say which.
    view.logger.warn("jobs: workflow finished without replaying steps stored by earlier attempts (renamed or removed?)", { steps: unreplayed });
  }
  return result;
}
