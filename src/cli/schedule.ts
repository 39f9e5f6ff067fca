import { defineCommand } from "citty";
import { AlreadyEnqueuedError, FlywheelError, ValidationError } from "../core/errors.ts";
import type { PeriodicRecord } from "../core/types.ts";
import { CONFIG_ARG, JSON_ARG, commandArgsFromCli, durationFlag, intFlag, jsonObjectArg, withFlywheel } from "./context.ts";
import { waitForFire } from "./trigger-wait.ts";
import { UsageError } from "./usage-error.ts";
import { coarse, formatInZone, formatRelative, printJson, scheduleText, sourceText, table } from "./render.ts";
import { periodicJson } from "../observe/json.ts";

const slugArg = { slug: { type: "positional", description: "Schedule slug", required: true } } as const;

const ls = defineCommand({
  meta: {
    name: "ls",
    description: "List schedules: last run (when, result, exit code, duration), next fire in their own timezone, failure streak",
    examples: ["flywheel schedule ls", "flywheel schedule ls --json"],
  },
  args: { ...CONFIG_ARG, ...JSON_ARG },
  async run({ args }) {
    await withFlywheel(args, async (fw) => {
      const periodics = await fw.listPeriodics();
      if (args.json) return printJson(periodics.map(periodicJson));
      console.log(renderSchedules(periodics, fw.clock.now(), { source: true }));
    });
  },
});

/**
 * The schedules table shared by `schedule ls` (with `source`) and `status`: one row per schedule with what its
 * last run came to (SPEC §20) and when it fires next. LAST is when that run ended; RESULT reads `failed` for a
 * discarded job; FAILS is the failure streak.
 */
export function renderSchedules(periodics: PeriodicRecord[], now: Date, options: { source?: boolean } = {}): string {
  const headers = ["slug", "schedule", "last", "result", "exit", "duration", "next", "fails"];
  return table(
    options.source ? [...headers, "source"] : headers,
    periodics.map((p) => {
      const row = [
        p.slug,
        scheduleText(p),
        formatRelative(p.lastFinishedAt, now),
        resultText(p.lastOutcome),
        p.lastExitCode === null ? "-" : String(p.lastExitCode),
        p.lastDurationMs === null ? "-" : coarse(p.lastDurationMs),
        nextText(p, now),
        String(p.consecutiveFailures),
      ];
      return options.source ? [...row, sourceText(p.source)] : row;
    }),
  );
}

/** A last run's outcome for people: a discarded job is a failed run. */
function resultText(outcome: string | null): string {
  if (outcome === null) return "-";
  return outcome === "discarded" ? "failed" : outcome;
}

/**
 * When a schedule fires next, on its own wall clock: `paused`, or `<time in its zone> (in 5m)`, or `overdue 8s`
 * once the fire time has passed by a second or more (no scheduler took it yet), never a past time read as future.
 */
function nextText(p: Pick<PeriodicRecord, "isActive" | "nextRunAt" | "timezone">, now: Date): string {
  if (!p.isActive) return "paused";
  const late = now.getTime() - p.nextRunAt.getTime();
  if (late >= 1000) return `overdue ${coarse(late)}`;
  return `${formatInZone(p.nextRunAt, p.timezone)} (${formatRelative(p.nextRunAt, now)})`;
}

const add = defineCommand({
  meta: {
    name: "add",
    description: "Add or update a schedule",
    examples: [
      `flywheel schedule add tidy shell --every 1h --args '{"inline":"find /tmp -mtime +7 -delete"}'`,
      `flywheel schedule add nightly exec --cron "0 3 * * *" --tz Europe/Berlin --args '{"command":"/usr/local/bin/backup"}'`,
    ],
  },
  args: {
    ...slugArg,
    kind: { type: "positional", description: "Worker kind: exec, shell, python, mage, http, or your own", required: true },
    cron: { type: "string", valueHint: "expr", description: 'Cron expression, e.g. "0 3 * * *"' },
    every: { type: "string", valueHint: "duration", description: "Fixed interval, e.g. 5m" },
    tz: { type: "string", valueHint: "zone", description: "IANA timezone for --cron (default UTC)" },
    args: { type: "string", valueHint: "json", description: "Worker args as a JSON object" },
    queue: { type: "string", description: "Queue (default: periodic)" },
    overlap: { type: "string", valueHint: "skip|allow", description: "Skip a fire while the previous one is active (default skip)" },
    "max-attempts": { type: "string", valueHint: "n", description: "Attempts per fire" },
    ...CONFIG_ARG,
    ...JSON_ARG,
  },
  async run({ args }) {
    const slug = String(args.slug);
    const kind = String(args.kind);
    if ((args.cron === undefined) === (args.every === undefined)) throw new UsageError("give exactly one of --cron and --every");
    const overlap = args.overlap !== undefined ? String(args.overlap) : undefined;
    if (overlap !== undefined && overlap !== "skip" && overlap !== "allow") throw new UsageError(`--overlap: expected skip or allow, got ${JSON.stringify(overlap)}`);
    const every = args.every !== undefined ? durationFlag(args.every, "every") : undefined;
    const maxAttempts = intFlag(args["max-attempts"], "max-attempts", 1);
    await withFlywheel(args, async (fw, config) => {
      const checked = commandArgsFromCli(kind, jsonObjectArg(args.args, "--args"), "--args", config.runtime.killGraceMs);
      let periodic: PeriodicRecord;
      try {
        periodic = await fw.upsertPeriodic({
          slug,
          kind,
          ...(args.cron !== undefined ? { cron: String(args.cron) } : { every }),
          timezone: args.tz !== undefined ? String(args.tz) : undefined,
          args: checked.args,
          queue: args.queue !== undefined ? String(args.queue) : undefined,
          overlap: overlap as "skip" | "allow" | undefined,
          maxAttempts,
          timeout: checked.timeoutMs,
          source: "cli",
        });
      } catch (error) {
        // A bad cron, timezone or interval is the operator's input, not a failed operation.
        if (error instanceof ValidationError || (error instanceof FlywheelError && error.code === "invalid_schedule")) throw new UsageError(error.message);
        throw error;
      }
      if (args.json) return printJson(periodicJson(periodic));
      console.log(`schedule ${periodic.slug}: ${scheduleText(periodic)} (${periodic.timezone}), next fire ${formatInZone(periodic.nextRunAt, periodic.timezone)}`);
    });
  },
});

const rm = defineCommand({
  meta: { name: "rm", description: "Delete a schedule (its jobs and their history stay)", examples: ["flywheel schedule rm tidy"] },
  args: { ...slugArg, ...CONFIG_ARG },
  async run({ args }) {
    await withFlywheel(args, async (fw) => {
      await fw.deletePeriodic(String(args.slug));
      console.log(`deleted schedule ${args.slug}`);
    });
  },
});

function toggle(active: boolean) {
  return defineCommand({
    meta: {
      name: active ? "enable" : "disable",
      description: active ? "Resume a schedule (missed fires are not backfilled)" : "Pause a schedule (config schedules resume at the next serve start unless `active: false`)",
      examples: [`flywheel schedule ${active ? "enable" : "disable"} nightly`],
    },
    args: { ...slugArg, ...CONFIG_ARG },
    async run({ args }) {
      await withFlywheel(args, async (fw) => {
        await fw.setPeriodicActive(String(args.slug), active);
        console.log(`schedule ${args.slug} ${active ? "enabled" : "disabled"}`);
      });
    },
  });
}

const trigger = defineCommand({
  meta: {
    name: "trigger",
    description: "Enqueue one fire of a schedule now and print the job id; --wait waits for it, prints its output and exits with its exit code",
    examples: ["flywheel schedule trigger nightly", "flywheel schedule trigger nightly --wait --timeout 10m"],
  },
  args: {
    ...slugArg,
    wait: {
      type: "boolean",
      description: "Wait for the job to end, print its stdout and stderr, and exit 0 (succeeded), with its exit code, 1 (failed without one), 124 (--timeout) or 130 (Ctrl+C)",
    },
    timeout: { type: "string", valueHint: "duration", description: "With --wait: stop waiting after this long and exit 124 (the job carries on)" },
    ...CONFIG_ARG,
    json: { type: "boolean", description: "Print JSON: the job id (with --wait: one document at the end with the job, its runs and exit_status)" },
  },
  async run({ args }) {
    if (args.timeout !== undefined && !args.wait) throw new UsageError("--timeout: only with --wait");
    const timeoutMs = args.timeout !== undefined ? durationFlag(args.timeout, "timeout") : undefined;
    const slug = String(args.slug);
    await withFlywheel(args, async (fw) => {
      let id: string;
      let enqueued = true;
      try {
        id = await fw.triggerPeriodic(slug, { actor: "cli" });
      } catch (error) {
        // overlap: skip and the previous fire is still queued or running: report it, as enqueue does.
        if (!(error instanceof AlreadyEnqueuedError)) throw error;
        id = error.existingId;
        enqueued = false;
      }
      if (!args.wait) {
        if (args.json) printJson({ id, enqueued });
        else console.log(enqueued ? id : `already enqueued: ${id}`);
        return;
      }
      process.exitCode = await waitForFire(fw, slug, id, enqueued, { timeoutMs, json: Boolean(args.json) });
    });
  },
});

/**
 * `flywheel schedule ls|add|rm|enable|disable|trigger`. Unknown slugs exit 1. `trigger --wait` exits with the
 * job's status: 0 succeeded, the job's exit code, 1 failed without one, 124 on `--timeout`, 130 on Ctrl+C
 * (`WAIT_EXIT` in trigger-wait.ts).
 */
export default defineCommand({
  meta: { name: "schedule", description: "List, add, remove, pause, resume and trigger schedules", examples: ["flywheel schedule ls", "flywheel schedule trigger nightly"] },
  subCommands: { ls, add, rm, enable: toggle(true), disable: toggle(false), trigger },
});
