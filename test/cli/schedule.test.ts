import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { hostname } from "node:os";
import { join } from "node:path";
import { cli, cliJson, openDb, sandbox, serve, type Sandbox } from "./helpers.ts";

let box: Sandbox;
let config: string;
let dbPath: string;

beforeAll(async () => {
  box = await sandbox();
  dbPath = join(box.dir, "fw.db");
  config = box.write("flywheel.yaml", "db: { sqlite: ./fw.db }\nruntime: { http_addr: off }\nlog: { format: json }\n");
});
afterAll(() => box.remove());

const slugsOf = async () => Object.fromEntries((await cliJson(box, ["schedule", "ls"])).map((p: any) => [p.slug, p]));

describe("flywheel schedule", () => {
  test("add, ls, disable, enable, trigger, rm", async () => {
    const added = await cli(box, ["schedule", "add", "nightly", "shell", "--cron", "0 3 * * *", "--tz", "Europe/Berlin", "--args", '{"inline":"echo nightly"}']);
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^schedule nightly: 0 3 \* \* \* \(Europe\/Berlin\), next fire \d{4}-\d\d-\d\d 03:00:00 CES?T\n$/);
    const every = await cliJson(box, ["schedule", "add", "often", "http", "--every", "5m", "--args", '{"url":"http://127.0.0.1:1/"}', "--queue", "hooks"]);
    expect(every).toMatchObject({ slug: "often", kind: "http", interval_seconds: 300, cron: null, queue: "hooks", source: "cli", active: true });

    let all = await slugsOf();
    expect(all.nightly).toMatchObject({ kind: "shell", cron: "0 3 * * *", timezone: "Europe/Berlin", source: "cli", active: true, skipped_count: 0 });
    // next_run_at is 03:00 on Berlin's wall clock, whichever UTC offset applies that day.
    const next = new Date(all.nightly.next_run_at);
    expect(new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Berlin", hour: "2-digit", minute: "2-digit" }).format(next)).toBe("03:00");

    const table = await cli(box, ["schedule", "ls"]);
    // Never run yet: no last run, result, exit code or duration (test/cli/schedule-columns.test.ts has runs).
    expect(table.stdout).toMatch(/^SLUG +SCHEDULE +LAST +RESULT +EXIT +DURATION +NEXT +FAILS +SOURCE$/m);
    expect(table.stdout).toMatch(/^nightly +0 3 \* \* \* +- +- +- +- +\d{4}-\d\d-\d\d 03:00:00 CES?T \(in [^)]+\) +0 +cli$/m);
    expect(table.stdout).toMatch(/^often +every 5m +- +- +- +- +(?:.+ UTC \((?:in [^)]+|now)\)|overdue \d+m?s) +0 +cli$/m);

    expect(await cli(box, ["schedule", "disable", "nightly"])).toMatchObject({ code: 0, stdout: "schedule nightly disabled\n" });
    expect((await slugsOf()).nightly.active).toBe(false);
    expect((await cli(box, ["schedule", "ls"])).stdout).toMatch(/^nightly +0 3 \* \* \* +- +- +- +- +paused +0 +cli$/m);
    expect(await cli(box, ["schedule", "enable", "nightly"])).toMatchObject({ code: 0, stdout: "schedule nightly enabled\n" });
    expect((await slugsOf()).nightly.active).toBe(true);

    const triggered = await cli(box, ["schedule", "trigger", "nightly"]);
    expect(triggered.code).toBe(0);
    const id = triggered.stdout.trim();
    // overlap: skip (the default) — a second trigger while the first fire is queued reports it.
    expect(await cli(box, ["schedule", "trigger", "nightly"])).toEqual({ code: 0, stdout: `already enqueued: ${id}\n`, stderr: "" });
    const fw = await openDb(dbPath);
    try {
      expect(await fw.findJob(id)).toMatchObject({ kind: "shell", queue: "periodic", args: { inline: "echo nightly" }, state: "available" });
    } finally {
      await fw.close();
    }

    expect(await cli(box, ["schedule", "rm", "nightly"])).toMatchObject({ code: 0, stdout: "deleted schedule nightly\n" });
    all = await slugsOf();
    expect(Object.keys(all)).toEqual(["often"]);
    const again = await cli(box, ["schedule", "rm", "nightly"]);
    expect(again).toEqual({ code: 1, stdout: "", stderr: 'flywheel: periodic "nightly" not found\n' });
  });

  test("bad schedules are usage errors and change nothing", async () => {
    const before = await slugsOf();
    const results = await Promise.all([
      cli(box, ["schedule", "add", "x", "shell", "--cron", "61 * * * *", "--args", '{"inline":"true"}']),
      cli(box, ["schedule", "add", "x", "shell", "--cron", "* * * * *", "--every", "1m", "--args", '{"inline":"true"}']),
      cli(box, ["schedule", "add", "x", "shell", "--every", "1m", "--args", '{"script":"./nope.sh"}']),
      cli(box, ["schedule", "add", "x", "shell", "--cron", "0 3 * * *", "--tz", "Mars/Olympus", "--args", '{"inline":"true"}']),
    ]);
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2]);
    expect(results[0]!.stderr).toStartWith('flywheel: invalid cron "61 * * * *"');
    expect(results[1]!.stderr).toBe("flywheel: give exactly one of --cron and --every\n");
    expect(results[2]!.stderr).toBe(`flywheel: --args: script: file not found: ${join(box.dir, "nope.sh")}\n`);
    expect(results[3]!.stderr).toStartWith('flywheel: unknown timezone "Mars/Olympus"');
    expect(await slugsOf()).toEqual(before);
  });

  test("serve reconciles config schedules: upserts them, deactivates ones removed, leaves CLI schedules alone", async () => {
    const schedule = (slug: string) => `  - { slug: ${slug}, every: 1h, worker: shell, shell: { inline: "echo ${slug}" } }\n`;
    const run = async (...flags: string[]) => {
      const daemon = serve(box, ["--config", config, ...flags]);
      await daemon.waitForLog("schedules reconciled", (l) => l.msg === "flywheel: schedules reconciled");
      const started = await daemon.waitForLog("node started", (l) => l.msg === "flywheel: node started");
      expect(await daemon.stop("SIGINT")).toBe(0);
      return { ...daemon, started };
    };

    box.write("flywheel.yaml", `db: { sqlite: ./fw.db }\nruntime: { http_addr: off }\nlog: { format: json }\nschedules:\n${schedule("alpha")}${schedule("beta")}`);
    // --http-addr overrides the config's `http_addr: off`; port 0 picks a free port, and the log names it.
    const first = await run("--http-addr", "127.0.0.1:0");
    expect(first.started.http).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*\/$/);
    let all = await slugsOf();
    expect(all.alpha).toMatchObject({ source: "config", config_instance: `${hostname()}:${config}`, active: true, interval_seconds: 3600, args: { inline: "echo alpha" } });
    expect(all.beta).toMatchObject({ source: "config", active: true });

    box.write("flywheel.yaml", `db: { sqlite: ./fw.db }\nruntime: { http_addr: off }\nlog: { format: json }\nschedules:\n${schedule("alpha")}`);
    const second = await run();
    expect(second.started.http).toBeUndefined();
    expect(second.logs.find((l) => l.msg === "flywheel: schedules reconciled")).toMatchObject({ upserted: 1, deactivated: ["beta"] });
    all = await slugsOf();
    expect(all.alpha.active).toBe(true);
    expect(all.beta).toMatchObject({ source: "config", active: false });
    expect(all.often).toMatchObject({ source: "cli", config_instance: null, active: true });
  });
});
