import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { MIGRATIONS } from "../../src/driver/sqlite/migrate.ts";
import { eventually } from "../support/helpers.ts";
import { MAIN, cli, cliJson, openDb, sandbox, serve, type Sandbox } from "./helpers.ts";

let box: Sandbox;

beforeAll(async () => {
  box = await sandbox();
  box.write("flywheel.yaml", "db: { sqlite: ./fw.db }\nruntime: { poll_interval: 50ms }\nlog: { format: json }\n");
});
afterAll(() => box.remove());

describe("operator commands", () => {
  test("migrate is idempotent", async () => {
    const latest = MIGRATIONS.length;
    const all = Array.from({ length: latest }, (_, i) => i + 1).join(", ");
    expect(await cli(box, ["migrate"])).toEqual({ code: 0, stdout: `migrated to schema version ${latest} (applied ${all})\n`, stderr: "" });
    expect(await cli(box, ["migrate"])).toEqual({ code: 0, stdout: `schema is up to date (version ${latest})\n`, stderr: "" });
  });

  test("prune deletes finished jobs older than the age and nothing else", async () => {
    const keep = (await cli(box, ["enqueue", "shell", '{"inline":"true"}'])).stdout.trim();
    const done = (await cli(box, ["enqueue", "shell", '{"inline":"true"}'])).stdout.trim();
    expect((await cli(box, ["jobs", "cancel", done])).code).toBe(0);

    expect(await cliJson(box, ["prune", "--older-than", "1d"])).toEqual({ deleted: 0 });
    // The cancel finished at least one spawn ago, so every finished job is older than 1ms.
    expect(await cli(box, ["prune", "--older-than", "1ms"])).toEqual({ code: 0, stdout: "deleted 1 finished job older than 1ms\n", stderr: "" });
    const fw = await openDb(join(box.dir, "fw.db"));
    try {
      expect((await fw.listJobs()).map((j) => j.id)).toEqual([keep]);
    } finally {
      await fw.close();
    }
    const missing = await cli(box, ["prune"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--older-than");
  });

  test("status --watch --json prints a sample per interval until SIGINT, then exits 0", async () => {
    const proc = Bun.spawn([process.execPath, MAIN, "status", "--watch", "--interval", "100ms", "--json"], {
      cwd: box.dir,
      env: box.env,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const samples: any[] = [];
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of proc.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      samples.push(...lines.filter(Boolean).map((l) => JSON.parse(l)));
      if (samples.length >= 2) {
        proc.kill("SIGINT");
        break;
      }
    }
    expect(await proc.exited).toBe(0);
    expect(samples[0]).toMatchObject({ ready: 1, counts: { available: 1 }, schedules: [], failures: [] });
    expect(new Date(samples[1].sampled_at).getTime()).toBeGreaterThan(new Date(samples[0].sampled_at).getTime());
  });

  test("a second signal during the drain exits 1 at once", async () => {
    box.write("force/.keep", "");
    const dir = join(box.dir, "force");
    const daemon = serve(box, ["--http-addr", "off"]);
    await daemon.waitForLog("node started", (l) => l.msg === "flywheel: node started");
    const id = (await cli(box, ["enqueue", "shell", JSON.stringify({ inline: "echo $$ > pid; exec sleep 30", dir })])).stdout.trim();
    const pid = await eventually("the job to start", () => (existsSync(join(dir, "pid")) ? Number(readFileSync(join(dir, "pid"), "utf8")) : 0));
    try {
      daemon.proc.kill("SIGTERM");
      await daemon.waitForLog("draining", (l) => l.msg === "flywheel: draining");
      daemon.proc.kill("SIGTERM");
      expect(await daemon.proc.exited).toBe(1);
      expect(daemon.logs.some((l) => l.msg === "flywheel: second signal, exiting without draining")).toBe(true);
    } finally {
      // The forced exit leaves the job's process group behind (it is detached by design); clean it up here.
      process.kill(-pid, "SIGKILL");
    }
    const fw = await openDb(join(box.dir, "fw.db"));
    try {
      // No outcome was recorded: the job stays running until its lease expires and the sweep reclaims it.
      expect((await fw.findJob(id)).state).toBe("running");
    } finally {
      await fw.close();
    }
  });

  test("version still answers through main.ts", async () => {
    const result = await cliJson(box, ["version"]);
    expect(result).toMatchObject({ version: expect.stringMatching(/^\d+\.\d+\.\d+/), bun: Bun.version });
  });
});
