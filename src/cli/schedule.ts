import { defineCommand } from "citty";
import { AlreadyEnqueuedError, FlywheelError, ValidationError } from "../core/errors.ts";
import type { PeriodicRecord } from "../core/types.ts";
import { CONFIG_ARG, JSON_ARG, commandArgsFromCli, durationFlag, intFlag, jsonObjectArg, withFlywheel } from "./context.ts";
import { UsageError } from "./usage-error.ts";
import { formatInZone, formatRelative, periodicJson, printJson, scheduleText, sourceText, table } from "./render.ts";

const slugArg = { slug: { type: "positional", description: "Schedule slug", required: true } } as const;

const ls = defineCommand({
  meta: { name: "ls", description: "List schedules with their next fire time in their own timezone", examples: ["flywheel schedule ls", "flywheel schedule ls --json"] },
  args: { ...CONFIG_ARG, ...JSON_ARG },
  async run({ args }) {
    await withFlywheel(args, async (fw) => {
      const periodics = await fw.listPeriodics();
      if (args.json) return printJson(periodics.map(periodicJson));
      console.log(renderSchedules(periodics, fw.clock.now()));
    });
  },
});

/** The schedules table shared by `schedule ls` and `status`. */
export function renderSchedules(periodics: PeriodicRecord[], now: Date): string {
  return table(
    ["slug", "kind", "schedule", "timezone", "next fire", "active", "skipped", "source"],
    periodics.map((p) => [
      p.slug,
      p.kind,
      scheduleText(p),
      p.timezone,
      p.isActive ? `${formatInZone(p.nextRunAt, p.timezone)} (${formatRelative(p.nextRunAt, now)})` : "-",
      p.isActive ? "yes" : "no",
      String(p.skippedCount),
      sourceText(p.source),
    ]),
  );
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
  meta: { name: "trigger", description: "Enqueue one fire of a schedule now; prints the job id", examples: ["flywheel schedule trigger nightly"] },
  args: { ...slugArg, ...CONFIG_ARG, ...JSON_ARG },
  async run({ args }) {
    await withFlywheel(args, async (fw) => {
      try {
        const id = await fw.triggerPeriodic(String(args.slug), { actor: "cli" });
        if (args.json) printJson({ id, enqueued: true });
        else console.log(id);
      } catch (error) {
        // overlap: skip and the previous fire is still queued or running: report it, as enqueue does.
        if (!(error instanceof AlreadyEnqueuedError)) throw error;
        if (args.json) printJson({ id: error.existingId, enqueued: false });
        else console.log(`already enqueued: ${error.existingId}`);
      }
    });
  },
});

/** `flywheel schedule ls|add|rm|enable|disable|trigger`. Unknown slugs exit 1. */
export default defineCommand({
  meta: { name: "schedule", description: "List, add, remove, pause, resume and trigger schedules", examples: ["flywheel schedule ls", "flywheel schedule trigger nightly"] },
  subCommands: { ls, add, rm, enable: toggle(true), disable: toggle(false), trigger },
});
