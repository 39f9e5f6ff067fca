import { formatDuration } from "../core/duration.ts";
import type { JobRecord, RunRecord } from "../core/types.ts";
import type { Flywheel } from "../flywheel.ts";
import { interrupt } from "./interrupt.ts";
import { runSummary } from "./logs.ts";
import { printJson } from "./render.ts";
import { commandOutputOf, jobJson, runJson } from "../observe/json.ts";
import { follow, RunTail, type TailEntry } from "./run-tail.ts";

// `flywheel schedule trigger <slug> --wait`: run a schedule now and behave like the command it runs, so it
// fits a shell script or a deploy step. The daemon runs the job; this process follows it in the database.

/**
 * The exit statuses of `schedule trigger --wait`:
 * - `0`: the job succeeded;
 * - the job's exit code: it failed, and its last attempt was a command that exited non-zero;
 * - `1`: it failed without an exit code (an HTTP or custom worker, a command killed by a signal or its
 *   timeout, a cancel);
 * - `124`: `--timeout` passed first (as `timeout(1)` does); the job carries on;
 * - `130`: Ctrl+C stopped the wait; the job carries on.
 */
export const WAIT_EXIT = { succeeded: 0, failed: 1, timeout: 124, interrupted: 130 } as const;

/**
 * Waits for job `id` of schedule `slug` to end. The job's stdout goes to stdout and its stderr to stderr, as
 * each attempt ends, with a `==> … <==` line per attempt on stderr; with `json`, one JSON document at the end
 * instead (`{ id, enqueued, job, runs, exit_status }`). Warns first, on stderr, when no live node serves the
 * schedule's queue or the queue is paused: the wait would otherwise look like a hang. Returns the exit status
 * ({@link WAIT_EXIT}).
 */
export async function waitForFire(
  fw: Flywheel,
  slug: string,
  id: string,
  enqueued: boolean,
  options: { timeoutMs?: number; json: boolean },
): Promise<number> {
  const periodic = await fw.findPeriodic(slug);
  for (const warning of await servingWarnings(fw, periodic.queue)) console.error(`warning: ${warning}`);
  if (!options.json) console.error(enqueued ? `${slug}: job ${id} enqueued; waiting for it to end` : `${slug}: already enqueued: job ${id}; waiting for it to end`);

  const tail = new RunTail(fw, { jobId: id });
  const report = (entry: TailEntry) => {
    if (!options.json) printAttempt(entry);
  };
  const stop = interrupt();
  let ended: Awaited<ReturnType<typeof follow>>;
  try {
    for (const entry of await tail.backlog(Number.MAX_SAFE_INTEGER)) report(entry);
    ended = await follow(tail, report, stop, options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs);
  } finally {
    stop.dispose();
  }

  const [job, runs] = await Promise.all([fw.findJob(id), fw.listRuns(id)]);
  const status = ended === "done" ? exitStatusOf(job, runs) : ended === "timeout" ? WAIT_EXIT.timeout : WAIT_EXIT.interrupted;
  if (options.json) printJson({ id, enqueued, job: jobJson(job), runs: runs.map(runJson), exit_status: status });
  if (ended === "timeout") console.error(`flywheel: job ${id} has not ended after ${formatDuration(options.timeoutMs!)}; it carries on (follow it: flywheel logs ${id} -f)`);
  if (ended === "stopped") console.error(`flywheel: stopped waiting; job ${id} carries on (follow it: flywheel logs ${id} -f)`);
  return status;
}

/** Why a wait on `queue` may never end: no live node serves it, or it is paused. */
async function servingWarnings(fw: Flywheel, queue: string): Promise<string[]> {
  const [nodes, queues] = await Promise.all([fw.listNodes(), fw.listQueues()]);
  const warnings: string[] = [];
  if (!nodes.some((n) => n.queues.includes(queue))) {
    warnings.push(
      nodes.length === 0
        ? `no node is running: the job waits on queue ${JSON.stringify(queue)} until \`flywheel serve\` runs`
        : `no running node serves queue ${JSON.stringify(queue)} (they serve ${[...new Set(nodes.flatMap((n) => n.queues))].join(", ")}): the job waits until one does`,
    );
  }
  const paused = queues.find((q) => q.name === queue && q.paused);
  if (paused) warnings.push(`queue ${JSON.stringify(queue)} is paused${paused.pausedBy ? ` by ${paused.pausedBy}` : ""}: the job waits until \`flywheel queues resume ${queue}\``);
  return warnings;
}

/** An attempt as `--wait` shows it: its header and error on stderr, then its stdout on stdout and stderr on stderr. */
function printAttempt(entry: TailEntry): void {
  const { job, run, slug } = entry;
  console.error(`==> ${slug ?? job.kind}: job ${job.id} ${runSummary(entry)} <==`);
  if (run.outcome === "started") return;
  if (run.errorMessage) console.error(`error (${run.errorClass ?? "?"}): ${run.errorMessage}`);
  const command = commandOutputOf(run.output);
  if (command) {
    if (command.stdout !== "") console.log(command.stdout.replace(/\n$/, ""));
    if (command.stderr !== "") console.error(command.stderr.replace(/\n$/, ""));
  } else if (run.output !== null && run.output !== undefined) {
    console.log(JSON.stringify(run.output));
  }
}

/** The exit status an ended job maps to (see {@link WAIT_EXIT}). */
function exitStatusOf(job: JobRecord, runs: RunRecord[]): number {
  if (job.state === "succeeded") return WAIT_EXIT.succeeded;
  const code = commandOutputOf(runs.at(-1)?.output)?.exitCode;
  return typeof code === "number" && code > 0 && code < 256 ? code : WAIT_EXIT.failed;
}
