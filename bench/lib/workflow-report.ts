/**
 * The printed tables of the workflow workloads (see workflows.ts), with the same-run ratios issue #12's targets
 * are stated in: a step's cost ÷ a plain job's, and event → resume p50 ÷ the same driver's enqueue → start p50.
 */
import { int, ms, ratio, table } from "./table.ts";

/** Issue #12: a step costs at most this many plain jobs (drain time, same run). */
export const STEP_COST_TARGET = 1.5;
/** Issue #12: event → resume p50 at most this many times the same driver's enqueue → start p50. */
export const EVENT_RESUME_TARGET = 1.5;

export type WorkflowWorkload = "workflow-drain" | "sleep-wake" | "event-resume";

/** One system's figures for one workflow workload, as the report needs them. */
export interface WorkflowRow {
  id: string;
  /** What the table prints: the id, and the note when there is one. */
  label: string;
  metrics: Record<string, number>;
  peakRssMiB?: number;
  /** Why there is no figure (skipped, failed); null when there is one. */
  status: string | null;
  /** A flywheel row: the targets apply to it. */
  flywheel: boolean;
}

/** What one dialect's workflow tables are made from. */
export interface WorkflowReportInput {
  /** The flywheel row the ratio columns divide by. */
  base: string;
  /** This dialect's rows of a workload, in table order. */
  rows(workload: WorkflowWorkload): WorkflowRow[];
  /** A system's enqueue → start p50 from this run's `latency-same`, if it ran. */
  enqueueStartP50(id: string): number | undefined;
  sizes: { runs: number; steps: number; samples: number; gapMs: number; sleepMs: number; concurrency: number };
}

function verdict(value: number | undefined, target: number): string {
  if (value === undefined || !Number.isFinite(value)) return "—";
  return value <= target ? "met" : "NOT met";
}

/** The tables of one dialect (empty when none of its systems ran a workflow workload). */
export function workflowTables(input: WorkflowReportInput): string[] {
  const { base, sizes } = input;
  const out: string[] = [];
  const drain = input.rows("workflow-drain");
  if (drain.length > 0) {
    const fw = drain.find((r) => r.id === base)?.metrics.runsPerSec;
    out.push(
      `── Workflow drain: ${int(sizes.runs)} pre-filled runs of a ${sizes.steps}-step no-op workflow, concurrency ${sizes.concurrency}, ` +
        `after a drain of ${int(sizes.runs)} plain no-op jobs in the same process and store`,
    );
    out.push(
      `   ms/run and ms/job = drain wall time ÷ runs (jobs) at concurrency ${sizes.concurrency}; step cost = (ms/run − ms/job) ÷ ${sizes.steps}; ` +
        `step÷job = step cost ÷ ms/job (target ≤ ${STEP_COST_TARGET}×, on flywheel rows)`,
    );
    const body = drain.map((r) => {
      if (r.status) return [r.label, r.status];
      const m = r.metrics;
      return [
        r.label,
        int(m.runsPerSec),
        int(m.stepsPerSec),
        r.id === base ? "—" : ratio(fw, m.runsPerSec),
        int(m.plainJobsPerSec),
        ms(m.msPerRun, 3),
        ms(m.msPerJob, 3),
        ms(m.stepCostMs, 3),
        ratio(m.stepCostMs, m.msPerJob),
        r.flywheel ? verdict(m.stepCostRatio, STEP_COST_TARGET) : "",
        ms(r.peakRssMiB, 0),
      ];
    });
    out.push(table(["system", "runs/s", "steps/s", `${base} ÷`, "plain jobs/s", "ms/run", "ms/job", "step cost ms", "step÷job", "target", "peak RSS MiB"], body));
    out.push("");
  }

  const sleeps = input.rows("sleep-wake");
  if (sleeps.length > 0) {
    const fw = sleeps.find((r) => r.id === base)?.metrics;
    out.push(
      `── Sleep → wake: ${sizes.samples} runs ${sizes.gapMs} ms apart, each sleeping ${sizes.sleepMs} ms; ` +
        "latency = the step after the sleep starting − the wake time the store recorded (ms; ratio = flywheel ÷ row)",
    );
    out.push(table(["system", "p50", "ratio", "p95", "p99", "ratio", "max"], sleeps.map((r) => latencyCells(r, base, fw))));
    out.push("");
  }

  const events = input.rows("event-resume");
  if (events.length > 0) {
    const fw = events.find((r) => r.id === base)?.metrics;
    out.push(
      `── Event → resume: ${sizes.samples} runs one at a time, each waiting for an event emitted ${sizes.gapMs} ms after its wait is in place; ` +
        "latency = the step after the wait starting − the emit call returning (ms; ratio = flywheel ÷ row)",
    );
    out.push(`   enqueue→start p50 = the same system's latency-same p50 in this run; target: event p50 ÷ it ≤ ${EVENT_RESUME_TARGET}× (flywheel rows)`);
    const body = events.map((r) => {
      const cells = latencyCells(r, base, fw);
      if (r.status) return cells;
      const enqueue = input.enqueueStartP50(r.id);
      return [...cells, ms(enqueue), ratio(r.metrics.p50, enqueue), r.flywheel ? verdict(r.metrics.p50! / enqueue!, EVENT_RESUME_TARGET) : ""];
    });
    out.push(table(["system", "p50", "ratio", "p95", "p99", "ratio", "max", "enqueue→start p50", "event÷enqueue", "target"], body));
    out.push("");
  }
  return out;
}

function latencyCells(r: WorkflowRow, base: string, fw: Record<string, number> | undefined): string[] {
  if (r.status) return [r.label, r.status];
  const m = r.metrics;
  const self = r.id === base;
  return [r.label, ms(m.p50), self ? "—" : ratio(fw?.p50, m.p50), ms(m.p95), ms(m.p99), self ? "—" : ratio(fw?.p99, m.p99), ms(m.max)];
}

/** One line per flywheel row and target, for the end of the report. */
export function workflowTargetLines(rows: Array<{ dialect: string; drain?: WorkflowRow; event?: WorkflowRow; enqueueStartP50?: number }>): string[] {
  const lines: string[] = [];
  for (const { dialect, drain, event, enqueueStartP50 } of rows) {
    if (drain && !drain.status) {
      const m = drain.metrics;
      lines.push(
        `  ${dialect}: step cost ${ms(m.stepCostMs, 3)} ms ÷ plain job ${ms(m.msPerJob, 3)} ms = ${ms(m.stepCostRatio)}× (target ≤ ${STEP_COST_TARGET}×): ${verdict(m.stepCostRatio, STEP_COST_TARGET)}`,
      );
    }
    if (event && !event.status && enqueueStartP50 === undefined) {
      lines.push(`  ${dialect}: event→resume p50 ${ms(event.metrics.p50)} ms; no enqueue→start figure to divide by (add latency-same to --workloads)`);
    } else if (event && !event.status) {
      const r = event.metrics.p50! / enqueueStartP50!;
      lines.push(
        `  ${dialect}: event→resume p50 ${ms(event.metrics.p50)} ms ÷ enqueue→start p50 ${ms(enqueueStartP50)} ms = ${ms(r)}× (target ≤ ${EVENT_RESUME_TARGET}×): ${verdict(r, EVENT_RESUME_TARGET)}`,
      );
    }
  }
  return lines.length > 0 ? ["── Workflow targets (issue #12), same-run ratios", ...lines, ""] : [];
}
