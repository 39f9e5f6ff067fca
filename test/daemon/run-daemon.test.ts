import { expect, test } from "bun:test";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
// Imported by package name, as a library user would: this also proves the "./daemon" export.
import { connect, silentLogger, type Flywheel } from "flywheel";
import { loadConfig, runDaemon } from "flywheel/daemon";
import { eventually, tempDir } from "../support/helpers.ts";

test("a library user runs the daemon: the config's schedule fires, its shell job succeeds, abort drains and closes", async () => {
  const dir = await tempDir();
  let watcher: Flywheel | undefined;
  try {
    const file = join(dir.path, "flywheel.yaml");
    writeFileSync(
      file,
      [
        "db: { sqlite: ./state/jobs.db }",
        "runtime: { http_addr: off, poll_interval: 20ms }",
        "schedules:",
        "  - slug: hello",
        "    every: 1s",
        "    worker: shell",
        '    shell: { inline: "echo hello from the daemon" }',
        "",
      ].join("\n"),
    );
    const config = loadConfig({ explicit: file, env: {}, cwd: dir.path });
    const dbPath = join(dir.path, "state", "jobs.db");
    expect(config.db).toEqual({ kind: "sqlite", path: dbPath });

    const stop = new AbortController();
    const running = runDaemon({ config, signal: stop.signal, logger: silentLogger });
    // Awaited through the public API from a second client; the file exists once the daemon has opened it, and
    // reads fail until it has migrated, which `eventually` rides out.
    const job = await eventually(
      "the schedule's job to succeed",
      async () => {
        if (!watcher && existsSync(dbPath)) watcher = await connect(`sqlite:${dbPath}`);
        return (await watcher?.listJobs({ state: "succeeded", kind: "shell" }))?.[0];
      },
      20_000,
    );
    stop.abort();
    await running;

    const [run] = await watcher!.listRuns(job.id);
    expect(run?.outcome).toBe("success");
    expect(run?.output).toMatchObject({ exit_code: 0, stdout: "hello from the daemon\n" });
    const [periodic] = await watcher!.listPeriodics();
    // Saved as this config's: the default instance is the host name and the config file.
    expect(periodic).toMatchObject({ slug: "hello", kind: "shell", source: `config:${hostname()}:${file}`, isActive: true });
    // The directory the daemon created for the database is private.
    expect(statSync(join(dir.path, "state")).mode & 0o777).toBe(0o700);
  } finally {
    await watcher?.close();
    await dir.remove();
  }
});
