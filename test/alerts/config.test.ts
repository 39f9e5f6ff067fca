import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { AlertRule } from "../../src/alerts/index.ts";
import { loadConfig, parseConfig } from "../../src/daemon/config/index.ts";
import { hasAlerts, nodeOptions } from "../../src/daemon/node-options.ts";
import { configIssues } from "../support/config.ts";

const file = "/etc/flywheel/flywheel.yaml";
const schedule = (slug: string, extra = "") => `  - slug: ${slug}\n    every: 1h\n    worker: shell\n    shell: { inline: "true" }\n${extra}`;
const parse = (yaml: string) => parseConfig(yaml, { file, env: {} });

/** The config's problems, each as `file:line: key: message`. */
function problems(yaml: string): string[] {
  return configIssues(yaml, { file, env: {} }).map((i) => `${i.line ?? "?"}: ${i.path}: ${i.message}`);
}

describe("alerts:, ping: and grace:", () => {
  test("top-level alerts are every schedule's default; a schedule's own replace them, [] silences it", () => {
    const config = parse(
      `alerts:
  on: failure
  webhook: https://hooks.example.com/all
schedules:
${schedule("inherits", "    ping: https://hc-ping.com/abc\n    grace: 10m\n")}${schedule("silent", "    alerts: []\n")}${schedule(
        "own",
        `    alerts:
      - { on: [failure, skipped], command: [notify-send, flywheel] }
      - { webhook: "http://127.0.0.1:9/hook", format: slack, headers: { X-Token: t }, timeout: 3s }
`,
      )}`,
    );
    const top: AlertRule = { on: ["failure"], target: { type: "webhook", url: "https://hooks.example.com/all", format: "json", headers: {} }, timeoutMs: 10_000 };
    expect(config.alerts).toEqual([top]);
    const [inherits, silent, own] = config.schedules;
    expect(inherits).toMatchObject({ alerts: [top], ping: "https://hc-ping.com/abc", graceMs: 600_000 });
    expect(silent).toMatchObject({ alerts: [], ping: null, graceMs: 300_000 });
    expect(own!.alerts).toEqual([
      { on: ["failure", "skipped"], target: { type: "command", command: ["notify-send", "flywheel"] }, timeoutMs: 60_000 },
      // Without `on:`: failure, recovery and missed; skipped is opt-in.
      { on: ["failure", "recovery", "missed"], target: { type: "webhook", url: "http://127.0.0.1:9/hook", format: "slack", headers: { "X-Token": "t" } }, timeoutMs: 3_000 },
    ]);
  });

  test("a config with alerts runs a runner of its own on queue alerts; one without does not", () => {
    const withAlerts = parse(`runtime: { concurrency: 8 }\nschedules:\n${schedule("a", "    ping: https://hc-ping.com/abc\n")}`);
    expect(hasAlerts(withAlerts)).toBe(true);
    expect(nodeOptions(withAlerts, null).runners?.map((r) => [r.queues, r.concurrency])).toEqual([
      [["default", "periodic"], 8],
      [["alerts"], 4],
    ]);
    const without = parse(`schedules:\n${schedule("a")}`);
    expect(hasAlerts(without)).toBe(false);
    expect(nodeOptions(without, null).runners).toHaveLength(1);
  });

  test("a command given as a path resolves against the config's directory and must exist", () => {
    expect(problems(`alerts: { command: [./notify.sh, --now] }\n`)).toEqual(["1: alerts.command[0]: file not found: /etc/flywheel/notify.sh"]);
  });

  test("mistakes are reported as file:line: key: message", () => {
    const cases: [string, string][] = [
      [`alerts:\n  on: [failure]\n  webhook: ftp://example.com/hook\n`, "3: alerts.webhook: expected an http(s) URL"],
      [`alerts:\n  - on: [failure, crashed]\n    webhook: https://x.example.com\n`, '2: alerts[0].on[1]: expected one of failure, recovery, missed, skipped, got "crashed"'],
      [`alerts:\n  on: []\n  webhook: https://x.example.com\n`, "2: alerts.on: expected one of failure, recovery, missed, skipped, or a list of them"],
      [`alerts:\n  on: failure\n`, "1: alerts: give exactly one of webhook and command"],
      [`alerts: { webhook: "https://x.example.com", command: [notify] }\n`, "1: alerts: give exactly one of webhook and command"],
      [`alerts:\n  command: [notify]\n  format: slack\n`, "3: alerts.format: format applies to webhook alerts only"],
      [`alerts:\n  webhook: https://x.example.com\n  format: html\n`, '3: alerts.format: expected one of json, slack, text, got "html"'],
      [`alerts:\n  webhok: https://x.example.com\n`, "2: alerts.webhok: unknown key (did you mean webhook?)"],
      [`alerts:\n  webhook: https://x.example.com\n  headers: { "two words": x }\n`, "3: alerts.headers.two words: expected an HTTP header name"],
      [`alerts:\n  command: []\n`, "2: alerts.command: expected at least the program"],
      [`schedules:\n${schedule("a", "    ping: hc-ping.com/abc\n")}`, "6: schedules[0].ping: expected an http(s) URL"],
      [`schedules:\n${schedule("a", "    grace: 5\n")}`, '6: schedules[0].grace: expected a duration with a unit (ms, s, m, h, d), e.g. "30s", got 5'],
      [`schedules:\n${schedule("a", "    alerts:\n      - on: failure\n        webhook: not a url\n")}`, "8: schedules[0].alerts[0].webhook: expected an http(s) URL"],
      [`schedules:\n${schedule("a", "    alerts: { on: [failure], webhook: https://x.example.com, tiemout: 5s }\n")}`, "6: schedules[0].alerts.tiemout: unknown key (did you mean timeout?)"],
    ];
    for (const [yaml, says] of cases) expect(problems(yaml)).toEqual([says]);
    // The error's message is one line naming the file.
    expect(() => parse(cases[0]![0])).toThrow(`flywheel: ${file}:3: alerts.webhook: expected an http(s) URL`);
  });
});

test("examples/notify/flywheel.yaml is valid: Slack, ntfy, email through ntfy, a dead-man ping, a schedule's own alerts and none", () => {
  const dir = join(import.meta.dir, "../../examples/notify");
  const config = loadConfig({ explicit: join(dir, "flywheel.yaml"), env: {}, cwd: dir });
  expect(config.alerts.map((a) => (a.target.type === "webhook" ? [a.target.format, new URL(a.target.url).host] : a.target.command[0]))).toEqual([
    ["slack", "hooks.slack.com"],
    ["text", "ntfy.sh"],
    ["text", "ntfy.sh"],
  ]);
  expect(config.alerts[2]!.target).toMatchObject({ headers: { "X-Email": "ops@example.com" } });
  const [backup, warm, cleanup] = config.schedules;
  expect(backup).toMatchObject({ ping: expect.stringMatching(/^https:\/\/hc-ping\.com\//), graceMs: 600_000, alerts: config.alerts });
  expect(warm!.alerts.map((a) => a.on)).toEqual([
    ["skipped", "failure"],
    ["failure", "recovery"],
  ]);
  expect(cleanup!.alerts).toEqual([]);
});
