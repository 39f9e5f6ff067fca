import { defineCommand } from "citty";
import type { HistoryRecord, JobRecord, JobState, RunRecord, StepRecord } from "../core/types.ts";
import { JOB_STATES } from "../core/types.ts";
import { CONFIG_ARG, JOB_ID_ARG, JSON_ARG, intFlag, withFlywheel } from "./context.ts";
import { UsageError } from "./usage-error.ts";
import { clip, fields, formatRelative, formatTime, outputWidth, printJson, table } from "./render.ts";
import { commandOutputOf, historyJson, jobJson, runJson, stepJson } from "../observe/json.ts";

const ls = defineCommand({
  meta: { name: "ls", description: "List jobs, newest first", examples: ["flywheel jobs ls", "flywheel jobs ls --state discarded --kind shell", "flywheel jobs ls --queue mail --limit 10 --json"] },
  args: {
    state: { type: "string", valueHint: "state", description: `Only this state: ${JOB_STATES.join(", ")}` },
    kind: { type: "string", description: "Only this kind" },
    queue: { type: "string", description: "Only this queue" },
    limit: { type: "string", valueHint: "n", description: "At most n jobs (default 50)" },
    ...CONFIG_ARG,
    ...JSON_ARG,
  },
  async run({ args }) {
    const state = args.state !== undefined ? String(args.state) : undefined;
    if (state !== undefined && !(JOB_STATES as readonly string[]).includes(state)) {
      throw new UsageError(`--state: expected one of ${JOB_STATES.join(", ")}, got ${JSON.stringify(state)}`);
    }
    const limit = intFlag(args.limit, "limit", 1);
    await withFlywheel(args, async (fw) => {
      const jobs = await fw.listJobs({
        state: state as JobState | undefined,
        kind: args.kind !== undefined ? String(args.kind) : undefined,
        queue: args.queue !== undefined ? String(args.queue) : undefined,
        limit,
      });
      if (args.json) return printJson(jobs.map(jobJson));
      const now = fw.clock.now();
      console.log(
        table(
          ["id", "kind", "queue", "state", "attempt", "created", "scheduled"],
          jobs.map((j) => [j.id, j.kind, j.queue, j.state, `${j.attempt}/${j.maxAttempts}`, formatRelative(j.createdAt, now), formatRelative(j.scheduledAt, now)]),
        ),
      );
    });
  },
});

const inspect = defineCommand({
  meta: {
    name: "inspect",
    description: "Show a job, every run with its output (exit code, stdout, stderr), and a workflow's steps",
    examples: ["flywheel jobs inspect 0193a1b2", "flywheel jobs inspect 0193a1b2 --json"],
  },
  args: { ...JOB_ID_ARG, ...CONFIG_ARG, ...JSON_ARG },
  async run({ args }) {
    await withFlywheel(args, async (fw) => {
      const job = await fw.findJob(await fw.resolveJobId(String(args.id)));
      const [runs, steps, history] = await Promise.all([fw.listRuns(job.id), fw.listSteps(job.id), fw.listHistory(job.id)]);
      if (args.json) return printJson({ job: jobJson(job), runs: runs.map(runJson), steps: steps.map(stepJson), history: history.map(historyJson) });
      console.log(renderJob(job, runs, steps, history));
    });
  },
});

const retry = defineCommand({
  meta: { name: "retry", description: "Make a job available now (a spent attempt budget gets one more)", examples: ["flywheel jobs retry 0193a1b2"] },
  args: { ...JOB_ID_ARG, ...CONFIG_ARG, ...JSON_ARG },
  async run({ args }) {
    await withFlywheel(args, async (fw) => {
      const job = await fw.retryJob(await fw.resolveJobId(String(args.id)), { actor: "cli" });
      if (args.json) return printJson(jobJson(job));
      console.log(`job ${job.id} is ${job.state} (attempt ${job.attempt}/${job.maxAttempts})`);
    });
  },
});

const cancel = defineCommand({
  meta: { name: "cancel", description: "Cancel a job that has not finished (a running attempt is aborted)", examples: ["flywheel jobs cancel 0193a1b2"] },
  args: { ...JOB_ID_ARG, ...CONFIG_ARG, ...JSON_ARG },
  async run({ args }) {
    await withFlywheel(args, async (fw) => {
      const job = await fw.cancelJob(await fw.resolveJobId(String(args.id)), { actor: "cli" });
      if (args.json) return printJson(jobJson(job));
      console.log(`job ${job.id} is ${job.state}`);
    });
  },
});

/**
 * A job for people: its fields (and, while it waits, what for), each attempt with its outcome, error and output,
 * its history (enqueue, cancels, retries, events, with who did them), then a workflow's steps.
 */
function renderJob(job: JobRecord, runs: RunRecord[], steps: StepRecord[], history: HistoryRecord[]): string {
  const out = [
    fields([
      ["id", job.id],
      ["kind", job.kind],
      ["queue", job.queue],
      ["state", job.state],
      ["attempt", `${job.attempt}/${job.maxAttempts}`],
      ["priority", String(job.priority)],
      ["args", JSON.stringify(job.args)],
      ["created", formatTime(job.createdAt)],
      ["scheduled", formatTime(job.scheduledAt)],
      ["finalized", formatTime(job.finalizedAt)],
      ...(job.uniqueKey ? [["unique_key", job.uniqueKey] as [string, string]] : []),
      ...(job.uniqueActiveKey ? [["unique_active_key", job.uniqueActiveKey] as [string, string]] : []),
      ...(job.parentJobId ? [["parent", job.parentJobId] as [string, string]] : []),
      ...(job.state === "waiting" ? [["waiting for", waitingFor(job, steps)] as [string, string]] : []),
    ]),
  ];
  if (runs.length === 0) out.push("", "no runs yet");
  for (const run of runs) {
    const duration = run.durationMs !== null ? ` ${run.durationMs}ms` : "";
    const cmd = commandOutputOf(run.output);
    const exit = cmd ? (cmd.exitCode !== null ? ` exit ${cmd.exitCode}` : cmd.signal ? ` ${cmd.signal}` : "") : "";
    out.push("", `run ${run.attempt}  ${run.outcome}${exit}${duration}  ${formatTime(run.startedAt)}  ${run.executorId}`);
    if (run.errorMessage) out.push(`  error (${run.errorClass ?? "?"}): ${clip(run.errorMessage, 200)}`);
    if (cmd) {
      for (const [name, text] of [["stdout", cmd.stdout], ["stderr", cmd.stderr]] as const) {
        if (text === "") continue;
        out.push(`  ${name}:`, ...text.replace(/\n$/, "").split("\n").map((l) => `    ${l}`));
      }
    } else if (run.output !== null && run.output !== undefined) {
      out.push(`  output: ${clip(JSON.stringify(run.output), 500)}`);
    }
  }
  out.push("", "history:", ...history.map((h) => `  ${formatTime(h.at)}  ${h.action} by ${h.actor}${h.detail ? `  ${JSON.stringify(h.detail)}` : ""}`));
  if (steps.length > 0) {
    const terminal = outputWidth();
    out.push("", "steps:");
    out.push(
      table(
        ["key", "status", "tries", "finished", "output"],
        steps.map((s) => [s.key, s.status, String(s.attempts), formatTime(s.finishedAt), s.error ? `error: ${clip(s.error, 80)}` : clip(JSON.stringify(s.output ?? null), 80)]),
        // Indented by two below, so it must fit in two columns less.
        { width: terminal === undefined ? undefined : terminal - 2 },
      )
        .split("\n")
        .map((line) => `  ${line}`)
        .join("\n"),
    );
  }
  return out.join("\n");
}

/** What a waiting workflow waits for: its reason, the waits still open, and when it wakes at the latest. */
function waitingFor(job: JobRecord, steps: StepRecord[]): string {
  const open = steps.filter((s) => s.status === "waiting").map((s) => s.key);
  const until = job.wakeAt ? ` until ${formatTime(job.wakeAt)}` : "";
  return `${job.waitReason ?? "?"}${open.length > 0 ? ` (${open.join(", ")})` : ""}${until}`;
}

/**
 * `flywheel jobs ls|inspect|retry|cancel`. Ids may be unique prefixes (8+ characters). Unknown ids exit 1 with
 * `flywheel: job <id> not found`; a short or ambiguous prefix exits 2.
 */
export default defineCommand({
  meta: { name: "jobs", description: "List, inspect, retry and cancel jobs", examples: ["flywheel jobs ls --state running", "flywheel jobs inspect 0193a1b2"] },
  subCommands: { ls, inspect, retry, cancel },
});
