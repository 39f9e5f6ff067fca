import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createLogger, type LogFormat } from "../../src/core/logger.ts";
import { loadConfig, runDaemon } from "../../src/daemon/index.ts";
import { eventually, tempDir } from "../support/helpers.ts";

// SPEC §20, logs: every line about a job a schedule fired carries `schedule=<slug>`; its final failure is an
// `error` line saying `discarded`; `log.job_output: true` forwards the job's stdout/stderr lines, tagged, to the
// daemon's log. Each test runs the daemon on a config with one failing schedule and reads the log it writes.

/** A shell command that writes two lines to stdout and one to stderr, then fails. */
const FAILING = "echo first line; echo second line; echo 'went wrong' >&2; exit 3";

/**
 * Runs the daemon until the log says the first job of schedule `slug` running `inline` was discarded (bounded
 * wait), then drains it; returns every log line written.
 */
async function daemonLog(options: { inline: string; jobOutput: boolean; format: LogFormat }): Promise<string[]> {
  const dir = await tempDir("flywheel-job-log-");
  try {
    const file = join(dir.path, "flywheel.yaml");
    writeFileSync(
      file,
      [
        "db: { sqlite: ./jobs.db }",
        "runtime: { http_addr: off, poll_interval: 20ms }",
        `log: { job_output: ${options.jobOutput} }`,
        "schedules:",
        "  - slug: nightly-report",
        "    every: 1s",
        "    max_attempts: 1",
        "    worker: shell",
        `    shell: { inline: ${JSON.stringify(options.inline)} }`,
        "",
      ].join("\n"),
    );
    const config = loadConfig({ explicit: file, env: {}, cwd: dir.path });
    const lines: string[] = [];
    const logger = createLogger({ format: options.format, level: "debug", write: (line) => lines.push(line) });
    const stop = new AbortController();
    const running = runDaemon({ config, signal: stop.signal, logger });
    try {
      await eventually("the discarded line", () => lines.some((l) => l.includes("jobs: job discarded")), 20_000);
    } finally {
      stop.abort();
      await running;
    }
    return lines;
  } finally {
    await dir.remove();
  }
}

/** The JSON lines about the first job discarded, up to and including its discarded line. */
function firstJobLines(lines: string[]): Record<string, any>[] {
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, any>);
  const discarded = parsed.findIndex((l) => l.msg === "jobs: job discarded");
  const id = parsed[discarded]!.job_id;
  return parsed.slice(0, discarded + 1).filter((l) => l.job_id === id);
}

test("job_output on: the job's three lines are forwarded tagged, then one error line says discarded; every line names the schedule", async () => {
  const lines = firstJobLines(await daemonLog({ inline: FAILING, jobOutput: true, format: "json" }));
  for (const line of lines) expect(line).toMatchObject({ schedule: "nightly-report", kind: "shell" });

  const output = lines.filter((l) => l.channel !== undefined);
  const said = (channel: string) => output.filter((l) => l.channel === channel).map((l) => [l.level, l.msg]);
  expect(said("stdout")).toEqual([
    ["info", "first line"],
    ["info", "second line"],
  ]);
  expect(said("stderr")).toEqual([["info", "went wrong"]]);

  const last = lines.at(-1)!;
  expect(last).toMatchObject({ level: "error", msg: "jobs: job discarded", attempts: 1, error_class: "transient", error: "exit 3: went wrong", exit_code: 3 });
  // Output lines arrive while the job runs, so all three precede the outcome.
  expect(lines.slice(0, -1).filter((l) => l.channel !== undefined)).toHaveLength(3);
  // Nothing about this job said "failed" at warn: its only failure was final.
  expect(lines.filter((l) => l.level === "warn")).toEqual([]);
});

test("job_output off (the default): none of the job's lines reach the log, the discarded line still does", async () => {
  const lines = firstJobLines(await daemonLog({ inline: FAILING, jobOutput: false, format: "json" }));
  expect(lines.filter((l) => l.channel !== undefined)).toEqual([]);
  expect(lines.map((l) => l.msg)).not.toContain("first line");
  expect(lines.at(-1)).toMatchObject({ level: "error", msg: "jobs: job discarded", schedule: "nightly-report" });
});

test("text format: one line per event, even for job output holding carriage returns and escape sequences", async () => {
  const inline = "printf 'progress 10%%\\rprogress 50%%\\033[0m\\n'; echo 'two  spaces'; exit 3";
  const lines = await daemonLog({ inline, jobOutput: true, format: "text" });
  for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z (DEBUG|INFO |WARN |ERROR) \S/);
  for (const line of lines) expect(line).not.toMatch(/[\r\n\u001b]/);
  expect(lines).toContainEqual(expect.stringMatching(/ INFO  progress 10%\\rprogress 50%\\u001b\[0m channel=stdout job_id=\S+ kind=shell schedule=nightly-report /));
  expect(lines).toContainEqual(expect.stringMatching(/ INFO  two {2}spaces channel=stdout /));
  expect(lines).toContainEqual(expect.stringMatching(/ ERROR jobs: job discarded job_id=\S+ kind=shell schedule=nightly-report .* error_class=transient error="exit 3" /));
});
