import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { loadConfig, locate, parseConfig } from "../../src/daemon/config/index.ts";
import { cli, sandbox, type Sandbox } from "./helpers.ts";
import { MIGRATIONS } from "../../src/driver/sqlite/migrate.ts";
import { configIssues } from "../support/config.ts";

let box: Sandbox;
beforeAll(async () => {
  box = await sandbox();
});
afterAll(() => box.remove());

const GOOD_SCHEDULE = `  - slug: ok
    every: 1h
    worker: shell
    shell: { inline: "echo ok" }
`;

/** Bad configs: each must exit 2 with one line naming the file and key, and never create the database. */
const BAD: { name: string; yaml: string; key: string; line: number; says: RegExp }[] = [
  {
    name: "unknown key",
    yaml: `db: { sqlite: ./fw.db }\nruntime:\n  concurrency: 2\n  retenion: 14d\n`,
    key: "runtime.retenion",
    line: 4,
    says: /unknown key \(did you mean retention\?\)/,
  },
  {
    name: "both cron and every",
    yaml: `db: { sqlite: ./fw.db }\nschedules:\n${GOOD_SCHEDULE}  - slug: twice\n    cron: "0 3 * * *"\n    every: 5m\n    worker: shell\n    shell: { inline: "echo" }\n`,
    key: "schedules[1].every",
    line: 9,
    says: /exactly one of cron and every/,
  },
  {
    name: "invalid cron",
    yaml: `db: { sqlite: ./fw.db }\nschedules:\n  - slug: bad\n    cron: "61 * * * *"\n    worker: shell\n    shell: { inline: "echo" }\n`,
    key: "schedules[0].cron",
    line: 4,
    says: /invalid cron "61 \* \* \* \*"/,
  },
  {
    name: "a cron that never fires",
    yaml: `db: { sqlite: ./fw.db }\nschedules:\n  - slug: never\n    cron: "0 0 30 2 *"\n    worker: shell\n    shell: { inline: "echo" }\n`,
    key: "schedules[0].cron",
    line: 4,
    says: /never fires/,
  },
  {
    name: "a 7-field cron with a year",
    yaml: `db: { sqlite: ./fw.db }\nschedules:\n  - slug: y\n    cron: "0 0 0 1 1 * 2030"\n    worker: shell\n    shell: { inline: "echo" }\n`,
    key: "schedules[0].cron",
    line: 4,
    says: /expected 5 fields/,
  },
  {
    name: "unknown worker",
    yaml: `db: { sqlite: ./fw.db }\nschedules:\n  - slug: perl\n    every: 1m\n    worker: perl\n    perl: { inline: "print 1" }\n`,
    key: "schedules[0].worker",
    line: 5,
    says: /expected one of exec, shell, python, mage, http, got "perl"/,
  },
  {
    name: "missing script",
    yaml: `db: { sqlite: ./fw.db }\nschedules:\n${GOOD_SCHEDULE}  - slug: gone\n    every: 1m\n    worker: shell\n    shell:\n      script: ./missing.sh\n`,
    key: "schedules[1].shell.script",
    line: 11,
    says: /file not found: .*missing\.sh/,
  },
];

describe("bad config", () => {
  for (const c of BAD) {
    test(`${c.name}: exit 2, one line naming file:line and key, database untouched`, async () => {
      const file = box.write(`bad-${c.name.replaceAll(" ", "-")}/flywheel.yaml`, c.yaml);
      // serve and enqueue would both open the database after loading the config; neither may get that far.
      const [served, enqueued] = await Promise.all([
        cli(box, ["serve", "--config", file]),
        cli(box, ["enqueue", "shell", '{"inline":"true"}'], { cwd: join(file, "..") }),
      ]);
      for (const result of [served, enqueued]) {
        expect(result.code).toBe(2);
        const lines = result.stderr.trim().split("\n");
        expect(lines).toHaveLength(1);
        expect(lines[0]).toStartWith(`flywheel: ${file}:${c.line}: ${c.key}: `);
        expect(lines[0]).toMatch(c.says);
        expect(result.stderr).not.toContain("    at ");
      }
      expect(existsSync(join(file, "..", "fw.db"))).toBe(false);
    });
  }

  test("--debug adds the stack trace to the one-line error", async () => {
    const file = box.write("bad-debug/flywheel.yaml", "runtime: { lease: 30 }\n");
    const result = await cli(box, ["migrate", "--config", file, "--debug"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("    at ");
    expect(result.stderr.trim().split("\n").at(-1)).toBe(`flywheel: ${file}:1: runtime.lease: expected a duration with a unit (ms, s, m, h, d), e.g. "30s", got 30`);
  });

  test("--config naming a missing file is a config error", async () => {
    const result = await cli(box, ["jobs", "ls", "--config", "nowhere.yaml"]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(`flywheel: ${join(box.dir, "nowhere.yaml")}: config file not found (named by --config)`);
  });
});

describe("config discovery", () => {
  test("without a config the database is SQLite under $XDG_STATE_HOME/flywheel, directory created", async () => {
    const result = await cli(box, ["migrate", "--json"]);
    expect(result.code).toBe(0);
    const latest = MIGRATIONS.length;
    expect(JSON.parse(result.stdout)).toEqual({ applied: Array.from({ length: latest }, (_, i) => i + 1), version: latest });
    expect(existsSync(join(box.env.XDG_STATE_HOME!, "flywheel", "flywheel.db"))).toBe(true);
    expect(statSync(join(box.env.XDG_STATE_HOME!, "flywheel")).mode & 0o777).toBe(0o700);
  });

  test("$FLYWHEEL_CONFIG, then ./flywheel.yaml, then $XDG_CONFIG_HOME/flywheel/flywheel.yaml", async () => {
    const viaEnv = box.write("disc/env.yaml", "db: { sqlite: ./env.db }\n");
    box.write("disc/cwd/flywheel.yaml", "db: { sqlite: ./cwd.db }\n");
    box.write("config/flywheel/flywheel.yaml", "db: { sqlite: ./xdg.db }\n");
    const cwd = join(box.dir, "disc", "cwd");
    const settings = async (options: { env?: Record<string, string>; cwd?: string }) => {
      const result = await cli(box, ["doctor", "--json"], options);
      return JSON.parse(result.stdout).settings;
    };
    expect((await settings({ cwd, env: { FLYWHEEL_CONFIG: viaEnv } })).db.sqlite).toBe(join(box.dir, "disc", "env.db"));
    expect((await settings({ cwd })).db.sqlite).toBe(join(cwd, "cwd.db"));
    expect((await settings({ cwd: join(box.dir, "disc") })).db.sqlite).toBe(join(box.dir, "config", "flywheel", "xdg.db"));
  });
});

describe("usage errors", () => {
  test("an unknown flag prints usage and exits 2", async () => {
    const result = await cli(box, ["jobs", "ls", "--stat", "running"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("USAGE\n  flywheel jobs ls [flags]");
    expect(result.stderr).toContain("--state");
    expect(result.stderr.trim().split("\n").at(-1)).toBe("flywheel: unknown flag --stat for `flywheel jobs ls` (did you mean `--state`?)");
    expect(result.stdout).toBe("");
  });

  test("an extra argument, a missing subcommand and bad flag values exit 2", async () => {
    const [extra, bare, state, json] = await Promise.all([
      cli(box, ["jobs", "inspect", "a", "b"]),
      cli(box, ["schedule"]),
      cli(box, ["jobs", "ls", "--state", "done"]),
      cli(box, ["enqueue", "shell", "{not json"]),
    ]);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain('unexpected argument "b"');
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain("`flywheel schedule` needs a subcommand");
    expect(state.code).toBe(2);
    expect(state.stderr.trim()).toStartWith("flywheel: --state: expected one of available, scheduled");
    expect(json.code).toBe(2);
    expect(json.stderr.trim()).toStartWith("flywheel: args: invalid JSON");
  });
});

test("runtime.prefetch is opt-in: 0 unless set, a whole number ≥ 0 when set", () => {
  expect(parseConfig("db: { sqlite: ./fw.db }\n", { file: "/x/flywheel.yaml" }).runtime.prefetch).toBe(0);
  expect(parseConfig("db: { sqlite: ./fw.db }\nruntime: { prefetch: 100 }\n", { file: "/x/flywheel.yaml" }).runtime.prefetch).toBe(100);
  expect(() => parseConfig("db: { sqlite: ./fw.db }\nruntime: { prefetch: -1 }\n", { file: "/x/flywheel.yaml" })).toThrow("runtime.prefetch: expected 0 or more");
});

describe("doctor", () => {
  test("a good config: checks pass, a missing interpreter only warns, settings printed, nothing created", async () => {
    const file = box.write(
      "doctor-good/flywheel.yaml",
      `db: { sqlite: ./fw.db }
runtime: { concurrency: 3, retention: 7d }
schedules:
  - slug: hello
    every: 1m
    worker: shell
    shell: { inline: "echo hi" }
  - slug: py
    every: 1h
    worker: python
    python: { inline: "print(1)", interpreter: python-absent-for-flywheel-test }
`,
    );
    const human = await cli(box, ["doctor", "--config", file]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^ok +config +${file.replaceAll(".", "\\.")} \\(2 schedules\\)$`, "m"));
    expect(human.stdout).toMatch(/^warn +database +sqlite .*fw\.db does not exist yet/m);
    expect(human.stdout).toMatch(/^ok +sh +\S+ \(needed by hello\)$/m);
    expect(human.stdout).toMatch(/^warn +python-absent-for-flywheel-test +not found on PATH \(needed by py\)/m);
    expect(human.stdout).toContain("effective settings");
    expect(human.stdout).toMatch(/^ {4}concurrency: 3$/m);
    expect(existsSync(join(file, "..", "fw.db"))).toBe(false);

    // Once the database exists, doctor reports it reachable and the schema current.
    expect((await cli(box, ["migrate", "--config", file])).code).toBe(0);
    const json = JSON.parse((await cli(box, ["doctor", "--config", file, "--json"])).stdout);
    expect(json.ok).toBe(true);
    expect(json.checks.find((c: any) => c.name === "database").status).toBe("ok");
    expect(json.checks.find((c: any) => c.name === "schema")).toEqual({ name: "schema", status: "ok", detail: `version ${MIGRATIONS.length} (latest)` });
    expect(json.settings.runtime).toMatchObject({ concurrency: 3, retention: "7d", http_addr: "127.0.0.1:7741", lease: "30s" });
    expect(json.settings.http).toEqual({ api: true, dashboard: true, api_token: "(not set)" });
    // A token is reported as set, never printed.
    const token = "doctor-token-0123456789";
    const withToken = await cli(box, ["doctor", "--config", file, "--json"], { env: { FLYWHEEL_API_TOKEN: token } });
    expect(JSON.parse(withToken.stdout).settings.http.api_token).toBe("(set)");
    expect(withToken.stdout).not.toContain(token);
  });

  test("a bad config: every problem listed with file:line and key, exit 1", async () => {
    const file = box.write(
      "doctor-bad/flywheel.yaml",
      `db: { sqlite: ./fw.db }
log: { format: xml }
schedules:
  - slug: nightly
    cron: "0 25 * * *"
    worker: shell
    shell: { inline: "echo" }
`,
    );
    const result = await cli(box, ["doctor", "--config", file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`FAIL  config  ${file}:2: log.format: expected one of text, json`);
    expect(result.stdout).toContain(`FAIL  config  ${file}:5: schedules[0].cron: invalid cron`);
    expect(existsSync(join(file, "..", "fw.db"))).toBe(false);
  });
});

describe("examples/flywheel.yaml", () => {
  test("is valid: inline shell and python jobs, and an http check of the daemon's own /healthz", () => {
    const file = join(import.meta.dir, "../../examples/flywheel.yaml");
    const config = loadConfig({ explicit: file });
    expect(config.schedules.map((s) => s.kind)).toEqual(["shell", "python", "http"]);
    expect(config.schedules[0]!.args.inline).toBeString();
    expect(config.schedules[1]!.args.inline).toBeString();
    const addr = config.runtime.httpAddr!;
    expect(config.schedules[2]!.args.url).toBe(`http://${addr.hostname}:${addr.port}/healthz`);
    expect(config.db).toEqual({ kind: "sqlite", path: join(import.meta.dir, "../../.flywheel/example.db") });
  });
});

describe("config loader", () => {
  const file = "/etc/flywheel/flywheel.yaml";
  const issuesOf = (text: string) => configIssues(text, { file });

  test("resolves defaults, durations and paths against the config's directory", () => {
    const config = parseConfig(
      `db: { sqlite: data/fw.db }
runtime:
  http_addr: off
  retry_backoff: { base: 10ms, cap: 50ms }
  retention: 14d
schedules:
  - { slug: web, every: 90s, worker: http, http: { url: "http://127.0.0.1:1/x" } }
  - slug: exec
    cron: "0 3 * * *"
    timezone: Europe/Berlin
    worker: exec
    exec: { command: /bin/true, dir: /tmp, timeout_seconds: 60 }
`,
      { file },
    );
    expect(config.db).toEqual({ kind: "sqlite", path: "/etc/flywheel/data/fw.db" });
    expect(config.runtime).toMatchObject({ httpAddr: null, retryBackoff: { baseMs: 10, capMs: 50 }, retentionMs: 14 * 86_400_000, queues: ["default", "periodic"] });
    expect(config.schedules[0]).toMatchObject({ slug: "web", kind: "http", everyMs: 90_000, timezone: "UTC", active: true });
    // timeout_seconds + the 5 s kill grace + 5 s margin: the worker's own timeout fires before the runtime's.
    expect(config.schedules[1]).toMatchObject({ kind: "exec", cron: "0 3 * * *", timezone: "Europe/Berlin", timeoutMs: 70_000 });
  });

  test("postgres, with schema; both databases at once is an error", () => {
    expect(parseConfig(`db: { postgres: "postgres://u@h/db", schema: jobs }\n`, { file }).db).toEqual({ kind: "postgres", url: "postgres://u@h/db", schema: "jobs" });
    expect(issuesOf(`db:\n  sqlite: x.db\n  postgres: postgres://h/db\n`)).toEqual([{ path: "db", line: 1, message: "give exactly one of sqlite and postgres" }]);
  });

  test("worker args are validated and their errors point inside the worker key", () => {
    expect(issuesOf(`schedules:\n  - slug: a\n    every: 1m\n    worker: shell\n    shell:\n      inline: echo\n      timout_seconds: 5\n`)).toEqual([
      { path: "schedules[0].shell.timout_seconds", line: 7, message: "unknown key (did you mean timeout_seconds?)" },
    ]);
    expect(issuesOf(`schedules:\n  - slug: a\n    every: 1m\n    worker: http\n`)[0]).toMatchObject({ path: "schedules[0].http", line: 2 });
    expect(issuesOf(`schedules:\n  - slug: a\n    every: 1m\n    worker: shell\n    shell: {}\n    http: { url: "http://x" }\n`)[0]).toMatchObject({
      path: "schedules[0].http",
      line: 6,
      message: "unknown key (expected one of slug, cron, every, timezone, overlap, catch_up, backfill, max_attempts, priority, queue, timeout, jitter, active, alerts, ping, grace, worker, shell)",
    });
  });

  test("duplicate slugs, unknown timezones and sub-second intervals are refused", () => {
    const issues = issuesOf(`schedules:
  - { slug: a, every: 1m, worker: shell, shell: { inline: x } }
  - { slug: a, every: 500ms, timezone: Mars/Olympus, worker: shell, shell: { inline: x } }
`);
    expect(issues.map((i) => `${i.line} ${i.path}`)).toEqual(["3 schedules[1].timezone"]);
    const semantic = issuesOf(`schedules:
  - { slug: a, every: 1m, worker: shell, shell: { inline: x } }
  - { slug: a, every: 500ms, worker: shell, shell: { inline: x } }
`);
    expect(semantic.map((i) => `${i.line} ${i.path}: ${i.message}`)).toEqual([
      "3 schedules[1].slug: duplicate slug \"a\" (also schedules[0])",
      "3 schedules[1].every: expected at least 1s",
    ]);
  });

  test("locate finds block, dash-item and flow-mapping keys, and falls back to the nearest ancestor", () => {
    const text = `# comment
db:
  sqlite: x.db
schedules:
- slug: a
  shell: { script: ./a.sh }
-   slug: b
    http:
      url: "http://x"
`;
    expect(locate(text, ["db", "sqlite"])).toBe(3);
    expect(locate(text, ["schedules", 0, "shell", "script"])).toBe(6);
    expect(locate(text, ["schedules", 1])).toBe(7);
    expect(locate(text, ["schedules", 1, "http", "url"])).toBe(9);
    expect(locate(text, ["schedules", 1, "http", "method"])).toBe(8);
    expect(locate(text, ["schedules", 2])).toBe(4);
    expect(locate(text, ["runtime"])).toBeUndefined();
  });

  test("runtime.instance: the host and config file by default, `<host>:defaults` without a file, or as given", () => {
    expect(parseConfig("db: { sqlite: ./fw.db }\n", { file }).runtime.instance).toBe(`${hostname()}:${file}`);
    const empty = box.env.HOME!;
    expect(loadConfig({ env: { HOME: empty, XDG_CONFIG_HOME: join(empty, ".config") }, cwd: empty }).runtime.instance).toBe(`${hostname()}:defaults`);
    expect(parseConfig("runtime: { instance: backup-box }\n", { file }).runtime.instance).toBe("backup-box");
    expect(issuesOf('runtime:\n  instance: ""\n')).toEqual([{ path: "runtime.instance", line: 2, message: "expected a non-empty string" }]);
    expect(issuesOf('runtime: { instance: "a\\tb" }\n')[0]).toMatchObject({ path: "runtime.instance", message: "expected a name without control characters" });
  });

  test("YAML syntax errors and several documents are config errors", () => {
    expect(issuesOf("a: [1,\n")[0]!.message).toStartWith("invalid YAML");
    expect(issuesOf("db: {}\n---\ndb: {}\n")[0]!.message).toContain("one YAML document");
  });
});
