import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { cli, cliJson, sandbox, type Sandbox } from "./helpers.ts";
import { scheduleFixture } from "./schedule-fixture.ts";

// SPEC §20 "Per-schedule state" through the real CLI: `schedule ls` and `status` show, per schedule, when its
// last run ended, its result, exit code and duration, its next fire (never a past time shown as future), and its
// failure streak; `--json` carries the same fields.

let box: Sandbox;
const HOUR = 3_600_000;
// The daily schedule fires four hours after this hour on Berlin's wall clock, so its next fire after the runs (two
// hours ago) is still ahead whenever the test runs; a fixed 03:00 was already overdue from 03:00 to 05:00 Berlin.
const berlinHour = Number(new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Berlin", hour: "2-digit", hourCycle: "h23" }).format(new Date()));
const FIRE_HOUR = (berlinHour + 4) % 24;
const CRON = `0 ${FIRE_HOUR} * * *`;
const CRON_RE = CRON.replaceAll("*", "\\*");
const FIRE_AT = `${String(FIRE_HOUR).padStart(2, "0")}:00:00`;

beforeAll(async () => {
  box = await sandbox();
  box.write("flywheel.yaml", "db: { sqlite: ./fw.db }\nruntime: { http_addr: off }\n");
  // The runs happened two hours ago (a fixed clock, moved a second per fire); the CLI reads them on the wall clock, with no node alive.
  const fixture = await scheduleFixture(join(box.dir, "fw.db"), new Date(Date.now() - 2 * HOUR));
  try {
    const { fw } = fixture;
    await fw.upsertPeriodic({ slug: "backup", kind: "shell", cron: CRON, timezone: "Europe/Berlin", args: { inline: "echo saving; exit 3" }, maxAttempts: 1 });
    await fw.upsertPeriodic({ slug: "tidy", kind: "shell", every: "10m", args: { inline: "echo tidy" } });
    await fw.upsertPeriodic({ slug: "held", kind: "shell", every: "1h", args: { inline: "true" } });
    await fw.setPeriodicActive("held", false);
    await fixture.fire("backup");
    await fixture.fire("backup");
    await fixture.fire("tidy");
  } finally {
    await fixture.close();
  }
});
afterAll(() => box.remove());

const rowOf = (text: string, slug: string) => text.split("\n").find((line) => line.startsWith(`${slug} `));

describe("per-schedule state", () => {
  test("schedule ls: last run, result, exit code, duration, next fire in the schedule's zone, failures, source", async () => {
    const { code, stdout } = await cli(box, ["schedule", "ls"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^SLUG +SCHEDULE +LAST +RESULT +EXIT +DURATION +NEXT +FAILS +SOURCE$/m);
    // Two failed runs in a row, exit 3; its next fire is FIRE_HOUR on Berlin's wall clock, in the future.
    expect(rowOf(stdout, "backup")).toMatch(new RegExp(`^backup +${CRON_RE} +(?:1h59m|2h(?:\\d+s)?) ago +failed +3 +\\d+m?s +\\d{4}-\\d\\d-\\d\\d ${FIRE_AT} CES?T \\(in [^)]+\\) +2 +api$`));
    // Its next fire was due between 1h50m and 2h ago: overdue, not "in …" and not a past time passed off as the next one.
    expect(rowOf(stdout, "tidy")).toMatch(/^tidy +every 10m +(?:1h59m|2h(?:\d+s)?) ago +succeeded +0 +\d+m?s +overdue (?:1h\d+m|2h(?:\d+s)?) +0 +api$/);
    expect(rowOf(stdout, "held")).toMatch(/^held +every 1h +- +- +- +- +paused +0 +api$/);
  });

  test("status: the same columns without the source, and the warning that no node runs the overdue ones", async () => {
    const { code, stdout } = await cli(box, ["status"]);
    expect(code).toBe(0);
    expect(stdout).toStartWith("warning: no node is running: 1 schedule is overdue (tidy)\n");
    expect(stdout).toMatch(/^SLUG +SCHEDULE +LAST +RESULT +EXIT +DURATION +NEXT +FAILS$/m);
    expect(rowOf(stdout, "backup")).toMatch(new RegExp(`^backup +${CRON_RE} +(?:1h59m|2h(?:\\d+s)?) ago +failed +3 +\\d+m?s +\\d{4}.+ CES?T \\(in [^)]+\\) +2$`));
    expect(rowOf(stdout, "tidy")).toMatch(/ overdue (?:1h\d+m|2h(?:\d+s)?) +0$/);
  });

  test("--json carries the same fields, in schedule ls and status alike", async () => {
    const listed = await cliJson(box, ["schedule", "ls"]);
    const status = await cliJson(box, ["status"]);
    expect(status.schedules).toEqual(listed);
    const bySlug = Object.fromEntries(listed.map((p: any) => [p.slug, p]));
    expect(bySlug.backup).toMatchObject({
      last_job_id: expect.any(String),
      last_outcome: "discarded",
      last_exit_code: 3,
      last_duration_ms: expect.any(Number),
      last_success_at: null,
      consecutive_failures: 2,
      paused_by: null,
      timezone: "Europe/Berlin",
      active: true,
    });
    expect(Date.now() - Date.parse(bySlug.backup.last_finished_at)).toBeGreaterThan(2 * HOUR - 60_000);
    expect(Date.parse(bySlug.backup.next_run_at)).toBeGreaterThan(Date.now());
    expect(bySlug.tidy).toMatchObject({ last_outcome: "succeeded", last_exit_code: 0, consecutive_failures: 0 });
    expect(bySlug.tidy.last_success_at).toBe(bySlug.tidy.last_finished_at);
    expect(Date.parse(bySlug.tidy.next_run_at)).toBeLessThan(Date.now());
    expect(bySlug.held).toMatchObject({ active: false, paused_by: "operator", last_outcome: null, last_exit_code: null, last_finished_at: null, consecutive_failures: 0 });
  });
});
