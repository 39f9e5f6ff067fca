import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createLogger } from "../../src/core/logger.ts";
import { parseConfig } from "../../src/daemon/config/index.ts";
import { reconcileMessaging } from "../../src/daemon/reconcile-messaging.ts";
import { reloadConfig } from "../../src/daemon/reload.ts";
import { connect, type Flywheel } from "../../src/index.ts";
import { commandWorkers } from "../../src/workers/index.ts";
import { configIssues } from "../support/config.ts";
import { tempDir } from "../support/helpers.ts";

const file = "/etc/flywheel/flywheel.yaml";

const issuesOf = (text: string) => configIssues(text, { file });

describe("bindings: and queues: in flywheel.yaml", () => {
  test("resolve into bindings with their worker args and queues with their pause", () => {
    const config = parseConfig(
      `bindings:
  - { pattern: "backups.*.done", worker: shell, shell: { inline: "echo done" } }
  - { pattern: "deploys.#", worker: exec, exec: { command: /bin/true }, queue: periodic }
queues:
  reports: { paused: true }
  default: {}
`,
      { file },
    );
    expect(config.bindings).toEqual([
      { pattern: "backups.*.done", kind: "shell", args: { inline: "echo done" } },
      { pattern: "deploys.#", kind: "exec", args: { command: "/bin/true" }, queue: "periodic" },
    ]);
    expect(config.queues).toEqual([
      { name: "reports", paused: true },
      { name: "default", paused: false },
    ]);
    expect(parseConfig("", { file })).toMatchObject({ bindings: [], queues: [] });
  });

  test("a bad pattern, a pattern bound twice to one worker, a queue no runner serves and bad worker args are refused with their key and line", () => {
    expect(issuesOf(`bindings:\n  - { pattern: "orders..paid", worker: shell, shell: { inline: x } }\n`)).toEqual([
      { path: "bindings[0].pattern", line: 2, message: 'pattern "orders..paid" has an empty token (a leading, trailing or doubled dot)' },
    ]);
    expect(issuesOf(`bindings:\n  - { pattern: "a.b", worker: shell, shell: { inline: x } }\n  - { pattern: "a.b", worker: shell, shell: { inline: y } }\n`)).toEqual([
      { path: "bindings[1].pattern", line: 3, message: '"a.b" is already bound to worker shell (bindings[0]); give one entry per pattern and worker' },
    ]);
    expect(issuesOf(`bindings:\n  - { pattern: a, worker: shell, shell: { inline: x }, queue: nobody }\n`)).toEqual([
      { path: "bindings[0].queue", line: 2, message: 'its jobs go to queue "nobody", which this daemon does not serve (runtime.queues: default, periodic)' },
    ]);
    expect(issuesOf(`runtime: { queues: [only] }\nbindings:\n  - { pattern: a, worker: shell, shell: { inline: x } }\n`)[0]).toMatchObject({
      path: "bindings[0]",
      message: 'its jobs go to queue "default", which this daemon does not serve (runtime.queues: only)',
    });
    expect(issuesOf(`bindings:\n  - { pattern: a, worker: shell, shell: { inlin: x } }\n`)[0]).toMatchObject({ path: "bindings[0].shell.inlin", line: 2 });
    expect(issuesOf(`queues:\n  reports: { pause: true }\n`)[0]).toMatchObject({ path: "queues.reports.pause", line: 2 });
    expect(issuesOf(`queues:\n  reports: { paused: yes please }\n`)[0]).toMatchObject({ path: "queues.reports.paused", message: 'expected true or false, got "yes please"' });
  });
});

describe("reconcileMessaging", () => {
  let cleanup: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await cleanup?.();
    cleanup = null;
  });

  async function open() {
    const dir = await tempDir();
    const fw: Flywheel = await connect(`sqlite:${join(dir.path, "fw.db")}`);
    cleanup = async () => (await fw.close(), await dir.remove());
    await fw.migrate();
    fw.register(...commandWorkers());
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({ format: "json", write: (l) => lines.push(JSON.parse(l)) });
    const configOf = (text: string, instance = "a") => parseConfig(`runtime: { instance: ${instance} }\n${text}`, { file: join(dir.path, "flywheel.yaml") });
    return { fw, lines, logger, configOf };
  }

  test("binds the config's patterns, unbinds only its own that left, and leaves the CLI's and another config's alone", async () => {
    const { fw, logger, lines, configOf } = await open();
    await fw.bind("audit.#", { kind: "shell", args: { inline: "true" } }, { source: "cli" });
    await reconcileMessaging(fw, configOf(`bindings:\n  - { pattern: "x.*", worker: shell, shell: { inline: "echo b" } }\n`, "b"), logger);
    const first = configOf(`bindings:\n  - { pattern: "orders.*.paid", worker: shell, shell: { inline: "echo paid" } }\n  - { pattern: "orders.#", worker: exec, exec: { command: /bin/true } }\n`);
    expect(await reconcileMessaging(fw, first, logger)).toEqual({ bound: ["orders.*.paid>shell", "orders.#>exec"], unbound: [], paused: [], resumed: [] });
    expect((await fw.listBindings()).map((b) => [b.pattern, b.kind, b.source, b.args])).toEqual([
      ["audit.#", "shell", "cli", { inline: "true" }],
      ["orders.#", "exec", "config:a", { command: "/bin/true" }],
      ["orders.*.paid", "shell", "config:a", { inline: "echo paid" }],
      ["x.*", "shell", "config:b", { inline: "echo b" }],
    ]);
    // A published topic gets the configured worker's args, so the job runs the command as configured.
    const ids = await fw.publish("orders.eu.paid", { n: 1 });
    const jobs = await Promise.all(ids.map((id) => fw.findJob(id)));
    expect(jobs.map((j) => [j.kind, j.args]).sort()).toEqual([
      ["exec", { command: "/bin/true" }],
      ["shell", { inline: "echo paid" }],
    ]);

    const second = configOf(`bindings:\n  - { pattern: "orders.#", worker: exec, exec: { command: /bin/false } }\n`);
    expect(await reconcileMessaging(fw, second, logger)).toMatchObject({ unbound: ["orders.*.paid>shell"] });
    expect((await fw.listBindings()).map((b) => [b.pattern, b.source, b.args])).toEqual([
      ["audit.#", "cli", { inline: "true" }],
      ["orders.#", "config:a", { command: "/bin/false" }],
      ["x.*", "config:b", { inline: "echo b" }],
    ]);
    expect(lines.at(-1)).toMatchObject({ msg: "flywheel: bindings and queues reconciled", instance: "a", bindings: 1, unbound: ["orders.*.paid>shell"] });
  });

  test("pauses the queues the config marks paused and resumes them when it stops; an operator's pause is never lifted", async () => {
    const { fw, logger, configOf } = await open();
    await fw.pauseQueue("billing");
    expect(await reconcileMessaging(fw, configOf(`queues:\n  reports: { paused: true }\n  billing: { paused: true }\n`), logger)).toMatchObject({ paused: ["reports"] });
    const state = async () => Object.fromEntries((await fw.listQueues()).map((q) => [q.name, q.pausedBy]));
    expect(await state()).toEqual({ billing: "operator", reports: "config:a" });
    // The same config again changes nothing.
    expect(await reconcileMessaging(fw, configOf(`queues:\n  reports: { paused: true }\n  billing: { paused: true }\n`), logger)).toEqual({
      bound: [],
      unbound: [],
      paused: [],
      resumed: [],
    });
    expect(await reconcileMessaging(fw, configOf(`queues:\n  reports: { paused: false }\n`), logger)).toMatchObject({ resumed: ["reports"] });
    expect(await state()).toEqual({ billing: "operator", reports: null });
  });

  test("a reload applies the new config's bindings and queue pauses like its schedules", async () => {
    const { fw, logger, configOf } = await open();
    const running = configOf(`bindings:\n  - { pattern: "a.*", worker: shell, shell: { inline: "echo a" } }\n`);
    await reconcileMessaging(fw, running, logger);
    const next = configOf(`bindings:\n  - { pattern: "b.#", worker: shell, shell: { inline: "echo b" } }\nqueues:\n  reports: { paused: true }\n`);
    const applied = await reloadConfig(fw, running, () => next, logger);
    expect(applied.bindings).toEqual(next.bindings);
    expect((await fw.listBindings()).map((b) => b.pattern)).toEqual(["b.#"]);
    expect((await fw.listQueues()).map((q) => [q.name, q.paused])).toEqual([["reports", true]]);
  });
});
