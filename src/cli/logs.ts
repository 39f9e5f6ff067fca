import { defineCommand } from "citty";
import { FlywheelError, PeriodicNotFoundError } from "../core/errors.ts";
import type { RunOutcome } from "../core/types.ts";
import type { Flywheel } from "../flywheel.ts";
import { CONFIG_ARG, intFlag, withFlywheel } from "./context.ts";
import { interrupt } from "./interrupt.ts";
import { coarse, formatTime } from "./render.ts";
import { commandOutputOf, runJson } from "../observe/json.ts";
import { follow, RunTail, type TailEntry, type TailSource } from "./run-tail.ts";

/** How many runs `logs` shows when `--runs` is not given. */
const DEFAULT_RUNS = 10;

/** A run's outcome in the words of a log: `succeeded`, `failed`, `timed out`, `running`… */
function outcomeText(outcome: RunOutcome): string {
  return OUTCOME_TEXT[outcome];
}

const OUTCOME_TEXT: Record<RunOutcome, string> = {
  started: "running",
  success: "succeeded",
  error: "failed",
  timeout: "timed out",
  snooze: "snoozed",
  suspended: "waiting",
  cancelled: "cancelled",
  crashed: "crashed",
  superseded: "superseded",
};

/** `attempt 2/3, started 2026-11-28 17:00:00Z, failed, exit 3, 1s`: what a run's header says about it. */
export function runSummary(entry: TailEntry): string {
  const { job, run } = entry;
  const parts = [`attempt ${run.attempt}/${job.maxAttempts}`, `started ${formatTime(run.startedAt)}`, outcomeText(run.outcome)];
  const command = commandOutputOf(run.output);
  if (command?.exitCode !== null && command?.exitCode !== undefined) parts.push(`exit ${command.exitCode}`);
  else if (command?.signal) parts.push(command.signal);
  if (run.durationMs !== null && run.outcome !== "started") parts.push(coarse(run.durationMs));
  return parts.join(", ");
}

/**
 * One run as `logs` prints it: a `==> … <==` header (schedule, job, attempt, start, outcome, exit code,
 * duration), the error when it failed, then its stdout as written and its stderr under a header of its own; a
 * worker that is not a command shows its output as JSON. A run still going is the header alone.
 */
function renderRun(entry: TailEntry): string {
  const { job, run, slug } = entry;
  const lines = [`==> ${slug !== null ? `${slug}: ` : ""}job ${job.id} ${runSummary(entry)} <==`];
  if (run.errorMessage) lines.push(`error (${run.errorClass ?? "?"}): ${run.errorMessage}`);
  const command = commandOutputOf(run.output);
  if (command) {
    if (command.stdout !== "") lines.push(command.stdout.replace(/\n$/, ""));
    if (command.stderr !== "") lines.push("==> stderr <==", command.stderr.replace(/\n$/, ""));
  } else if (run.output !== null && run.output !== undefined && run.outcome !== "started") {
    lines.push(`output: ${JSON.stringify(run.output)}`);
  }
  return lines.join("\n");
}

/** One run as `logs --json` prints it: a line of JSON, the run as `jobs inspect --json` shows it plus its job. */
function runLine(entry: TailEntry): string {
  return JSON.stringify({ schedule: entry.slug, kind: entry.job.kind, ...runJson(entry.run) });
}

/**
 * What `name` names: a schedule (by slug, also one deleted whose jobs remain), else a job (a full id, or a
 * prefix of at least 8 characters).
 * @throws FlywheelError `periodic_not_found` when it is neither; a prefix several jobs share is a usage error.
 */
async function targetOf(fw: Flywheel, name: string): Promise<TailSource> {
  try {
    await fw.findPeriodic(name);
    return { slug: name };
  } catch (error) {
    if (!(error instanceof PeriodicNotFoundError)) throw error;
  }
  // Shorter than 8 characters it can only be a slug (resolveJobId refuses such prefixes).
  if (name.length >= 8 && /^[0-9a-f-]+$/i.test(name)) {
    try {
      return { jobId: await fw.resolveJobId(name.toLowerCase()) };
    } catch (error) {
      if (!(error instanceof FlywheelError) || error.code !== "job_not_found") throw error;
    }
  }
  if ((await fw.listPeriodicJobs(name, { limit: 1 })).length > 0) return { slug: name };
  throw new FlywheelError("periodic_not_found", `flywheel: no schedule or job ${JSON.stringify(name)}`);
}

/**
 * `flywheel logs <slug|job> [-f] [--runs N] [--json]`: the stored output of a job's runs, or of the latest runs
 * of a schedule's jobs, oldest first. `-f` keeps following (new jobs of the schedule, new attempts of the job)
 * until Ctrl+C (exit 0); following one job ends when the job does. Unknown names exit 1.
 */
export default defineCommand({
  meta: {
    name: "logs",
    description: "Show the output (stdout, stderr, exit code) of a schedule's latest runs or of a job; -f follows",
    examples: ["flywheel logs nightly-backup", "flywheel logs nightly-backup -f", "flywheel logs 01a22331 --json"],
  },
  args: {
    target: { type: "positional", description: "Schedule slug, or job id (or its first 8+ characters)", required: true },
    follow: { type: "boolean", alias: "f", description: "Keep following new runs until Ctrl+C (a job: until it ends)" },
    runs: { type: "string", valueHint: "n", description: `Show the latest n runs (default ${DEFAULT_RUNS})` },
    ...CONFIG_ARG,
    json: { type: "boolean", description: "Print one line of JSON per run (as jobs inspect --json shows runs)" },
  },
  async run({ args }) {
    const limit = intFlag(args.runs, "runs", 1) ?? DEFAULT_RUNS;
    await withFlywheel(args, async (fw) => {
      const tail = new RunTail(fw, await targetOf(fw, String(args.target)));
      const print = (entry: TailEntry) => console.log(args.json ? runLine(entry) : renderRun(entry));
      const backlog = await tail.backlog(limit);
      for (const entry of backlog) print(entry);
      if (!args.follow) {
        if (backlog.length === 0 && !args.json) console.log("no runs yet");
        return;
      }
      const stop = interrupt();
      try {
        await follow(tail, print, stop);
      } finally {
        stop.dispose();
      }
    });
  },
});
