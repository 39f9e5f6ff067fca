import { expect, test } from "bun:test";
import { parseConfig } from "../../src/daemon/config/index.ts";
import { needsRestart } from "../../src/daemon/reload.ts";

// What a reload cannot apply is named by the keys the operator edited, as the file spells them.

const file = "/etc/flywheel/flywheel.yaml";
const SHELL = 'worker: shell, shell: { inline: "true" }';
const load = (text: string) => parseConfig(text, { file, env: {} });

test("only schedule changes: nothing needs a restart", () => {
  const before = load(`schedules:\n  - { slug: a, every: 1m, ${SHELL} }\n`);
  const after = load(`schedules:\n  - { slug: a, every: 2m, ${SHELL} }\n  - { slug: b, cron: "0 3 * * *", ${SHELL} }\n`);
  expect(needsRestart(before, after)).toEqual([]);
});

test("database, runtime, http, log and alert changes are named by their config keys", () => {
  const before = load(`db: { sqlite: ./a.db }\nschedules:\n  - { slug: a, every: 1m, ${SHELL} }\n`);
  const after = load(
    [
      "db: { sqlite: ./b.db }",
      "runtime: { http_addr: 127.0.0.1:9999, drain_timeout: 1m, retry_backoff: { base: 2s } }",
      "http: { api_token: 0123456789abcdef0123 }",
      "log: { job_output: true }",
      'alerts: { on: failure, webhook: "https://example.com/hook" }',
      "schedules:",
      `  - { slug: a, every: 1m, ${SHELL}, alerts: [] }`,
      `  - { slug: b, every: 1m, ${SHELL}, ping: "https://hc-ping.com/x" }`,
      `  - { slug: c, every: 1m, ${SHELL}, alerts: [] }`,
      "",
    ].join("\n"),
  );
  expect(needsRestart(before, after)).toEqual([
    "db",
    "runtime.http_addr",
    "runtime.drain_timeout",
    "runtime.retry_backoff",
    "http.api_token",
    "log.job_output",
    "alerts",
    "schedules.b.alerts",
  ]);
});
