import { afterAll, describe, expect, test } from "bun:test";
import { exitStatusOf } from "../../src/core/errors.ts";
import { ConfigError, parseConfig, type ConfigEnv } from "../../src/daemon/config/index.ts";
import { cli, sandbox, serve, type Sandbox } from "../cli/helpers.ts";

// `log:` in flywheel.yaml and the environment variables that override it (SPEC §20).

const FILE = "/etc/flywheel/flywheel.yaml";
const log = (yaml: string, env: ConfigEnv = {}) => parseConfig(yaml, { file: FILE, env }).log;

/** The ConfigError that `fn` throws. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("log: settings", () => {
  test("defaults: text, info, no job output; job_output is a boolean", () => {
    expect(log("")).toEqual({ format: "text", level: "info", jobOutput: false });
    expect(log("log: { job_output: true }\n")).toEqual({ format: "text", level: "info", jobOutput: true });
    const error = configError(() => log("log:\n  job_output: yes please\n"));
    expect(error.message).toBe(`flywheel: ${FILE}:2: log.job_output: expected true or false, got "yes please"`);
  });

  test("FLYWHEEL_LOG_FORMAT and FLYWHEEL_LOG_LEVEL override the file, case-insensitively; empty means unset", () => {
    const yaml = "log: { format: text, level: warn, job_output: true }\n";
    expect(log(yaml, { FLYWHEEL_LOG_FORMAT: "json", FLYWHEEL_LOG_LEVEL: "DEBUG" })).toEqual({ format: "json", level: "debug", jobOutput: true });
    expect(log(yaml, { FLYWHEEL_LOG_FORMAT: "", FLYWHEEL_LOG_LEVEL: " " })).toEqual({ format: "text", level: "warn", jobOutput: true });
    // Without a config file too.
    expect(log("", { FLYWHEEL_LOG_LEVEL: "error" }).level).toBe("error");
  });

  test("a bad value is a config error naming the variable (exit 2), not the file", () => {
    const level = configError(() => log("", { FLYWHEEL_LOG_LEVEL: "loud" }));
    expect(level.code).toBe("config_invalid");
    expect(exitStatusOf(level)).toBe(2);
    expect(level.message).toBe('flywheel: FLYWHEEL_LOG_LEVEL: expected one of debug, info, warn, error, got "loud"');
    expect(configError(() => log("", { FLYWHEEL_LOG_FORMAT: "xml" })).message).toBe('flywheel: FLYWHEEL_LOG_FORMAT: expected one of text, json, got "xml"');
  });
});

describe("flywheel serve with the overrides", () => {
  let box: Sandbox;
  afterAll(() => box?.remove());

  test("the environment switches the daemon to JSON at warn over a config that says text at info", async () => {
    box = await sandbox();
    box.write(
      "flywheel.yaml",
      [
        "db: { sqlite: ./fw.db }",
        "runtime: { http_addr: off, poll_interval: 20ms }",
        "log: { format: text, level: info, job_output: true }",
        "schedules:",
        "  - slug: env-check",
        "    every: 1s",
        "    max_attempts: 1",
        "    worker: shell",
        '    shell: { inline: "echo hello; exit 4" }',
        "",
      ].join("\n"),
    );
    const daemon = serve(box, [], { env: { FLYWHEEL_LOG_FORMAT: "json", FLYWHEEL_LOG_LEVEL: "warn" } });
    try {
      const discarded = await daemon.waitForLog("the discarded line", (l) => l.msg === "jobs: job discarded", 20_000);
      expect(discarded).toMatchObject({ level: "error", schedule: "env-check", error: "exit 4", exit_code: 4 });
      // Every line so far is JSON, and none is below warn: the start lines and the job's output (info) are filtered.
      const written = daemon.stderr().split("\n").filter((l) => l !== "");
      expect(written.length).toBe(daemon.logs.length);
      expect(daemon.logs.filter((l) => l.level !== "warn" && l.level !== "error")).toEqual([]);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  });

  test("a bad value stops serve before it starts: exit 2, one line naming the variable", async () => {
    box ??= await sandbox();
    const result = await cli(box, ["serve"], { env: { FLYWHEEL_LOG_LEVEL: "verbose" } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('FLYWHEEL_LOG_LEVEL: expected one of debug, info, warn, error, got "verbose"');
  });
});
