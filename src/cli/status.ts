import { defineCommand } from "citty";
import type { Flywheel } from "../flywheel.ts";
import { JOB_STATES, type PeriodicRecord } from "../core/types.ts";
import { CONFIG_ARG, JSON_ARG, durationFlag, withFlywheel } from "./context.ts";
import { interrupt } from "./interrupt.ts";
import { UsageError } from "./usage-error.ts";
import { clip, coarse, formatRelative, table } from "./render.ts";
import { failureJson, healthJson, nodeJson, periodicJson } from "../observe/json.ts";
import { renderSchedules } from "./schedule.ts";

/** One status sample: queue health, schedules, the last day's failures, the live nodes, and what is wrong. */
async function sample(fw: Flywheel) {
  const [health, periodics, failures, nodes] = await Promise.all([fw.queueHealth(), fw.listPeriodics(), fw.recentFailures({ limit: 20 }), fw.listNodes()]);
  return { health, periodics, failures, nodes, warnings: warningsOf(health.sampledAt, periodics, nodes.length, health.ready) };
}

/**
 * What an operator must not miss: with no live node, overdue schedules and ready jobs wait for nobody (a stopped
 * daemon otherwise shows only next fires sliding into the past).
 */
function warningsOf(now: Date, periodics: PeriodicRecord[], liveNodes: number, ready: number): string[] {
  if (liveNodes > 0) return [];
  const overdue = periodics.filter((p) => p.isActive && p.nextRunAt < now).map((p) => p.slug);
  const warnings: string[] = [];
  if (overdue.length > 0) warnings.push(`no node is running: ${overdue.length} schedule${overdue.length === 1 ? " is" : "s are"} overdue (${clip(overdue.join(", "))})`);
  if (ready > 0) warnings.push(`no node is running: ${ready} ready job${ready === 1 ? "" : "s"} wait${ready === 1 ? "s" : ""} for one`);
  return warnings;
}

/** `status` for people: ready / in-flight / lag, counts by state, schedules, recent failures. */
function render({ health, periodics, failures, nodes, warnings }: Awaited<ReturnType<typeof sample>>): string {
  const now = health.sampledAt;
  const counts = JOB_STATES.map((s) => `${s} ${health.counts[s] ?? 0}`).join("  ");
  return [
    ...warnings.map((w) => `warning: ${w}`),
    `nodes ${nodes.length}${nodes.length > 0 ? ` (${nodes.map((n) => `${n.host}:${n.pid}`).join(", ")})` : ""}`,
    `ready ${health.ready}  in-flight ${health.inflight}  scheduled ahead ${health.scheduledAhead}  lag ${coarse(health.oldestReadyAgeSeconds * 1000)}`,
    counts,
    "",
    "schedules",
    renderSchedules(periodics, now),
    "",
    "failures (last 24h)",
    table(
      ["job", "kind", "attempt", "finished", "error"],
      failures.map((f) => [f.jobId, f.kind, String(f.attempt), formatRelative(f.finalizedAt, now), clip(`${f.errorClass ?? "?"}: ${f.errorMessage ?? ""}`)]),
    ),
  ].join("\n");
}

/**
 * `flywheel status [--json] [--watch [--interval 2s]]`. `--watch` redraws every interval until Ctrl+C (exit 0);
 * with `--json` it prints one JSON document per line per sample instead of redrawing.
 */
export default defineCommand({
  meta: {
    name: "status",
    description: "Queue health, lag, counts, schedules and the last day's failures",
    examples: ["flywheel status", "flywheel status --watch --interval 5s", "flywheel status --json"],
  },
  args: {
    watch: { type: "boolean", description: "Redraw until Ctrl+C" },
    interval: { type: "string", valueHint: "duration", description: "Redraw interval for --watch (default 2s)" },
    ...CONFIG_ARG,
    ...JSON_ARG,
  },
  async run({ args }) {
    const intervalMs = args.interval !== undefined ? durationFlag(args.interval, "interval") : 2_000;
    if (intervalMs < 100) throw new UsageError("--interval: expected at least 100ms");
    await withFlywheel(args, async (fw) => {
      const show = async () => {
        const s = await sample(fw);
        const json = {
          ...healthJson(s.health),
          schedules: s.periodics.map(periodicJson),
          failures: s.failures.map(failureJson),
          nodes: s.nodes.map(nodeJson),
          warnings: s.warnings,
        };
        if (args.json) console.log(args.watch ? JSON.stringify(json) : JSON.stringify(json, null, 2));
        // Home + clear-to-end redraws in place without the flash of a full clear.
        else console.log(args.watch && process.stdout.isTTY ? `\x1b[H\x1b[J${render(s)}` : render(s));
      };
      await show();
      if (!args.watch) return;
      const stop = interrupt();
      try {
        while (await stop.sleep(intervalMs)) {
          if (!args.json && !process.stdout.isTTY) console.log("");
          await show();
        }
      } finally {
        stop.dispose();
      }
    });
  },
});
