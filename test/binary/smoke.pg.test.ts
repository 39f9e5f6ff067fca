// The compiled binary through a whole enqueue → serve → audit cycle (SPEC §13: CI smoke-tests the host
// binary), on embedded SQLite and on PostgreSQL. Catches what running from source cannot: embedded
// migrations, bundling of both drivers and the command workers, and minifier miscompiles.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { assetName, hostPlatform } from "../../src/update/platform.ts";
import { eventually } from "../support/helpers.ts";
import { pgMissing, throwawaySchema, PG_URL } from "../support/postgres.ts";

const REPO = resolve(import.meta.dir, "..", "..");
const VERSION = "0.0.7-smoke";
let root: string;
let bin: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "flywheel-smoke-"));
  const build = Bun.spawn([process.execPath, "build.ts", "--target", "host", "--outdir", root, "--version-override", VERSION], {
    cwd: REPO,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [err, code] = await Promise.all([new Response(build.stderr).text(), build.exited]);
  if (code !== 0) throw new Error(`build.ts failed (${code}): ${err}`);
  bin = join(root, assetName(VERSION, hostPlatform()!));
}, 120_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

function env(dir: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: dir,
    XDG_STATE_HOME: join(dir, "state"),
    XDG_CONFIG_HOME: join(dir, "config"),
    XDG_CACHE_HOME: join(dir, "cache"),
    FLYWHEEL_NO_UPDATE_CHECK: "1",
  };
}

async function run(dir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([bin, ...args], { cwd: dir, env: env(dir), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** version, migrate, enqueue, serve runs a shell job to success, status --json: each through the binary. */
async function cycle(db: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "flywheel-smoke-run-"));
  try {
    writeFileSync(join(dir, "flywheel.yaml"), `db: ${db}\nruntime: { http_addr: off, poll_interval: 20ms }\n`);
    const version = await run(dir, ["version", "--json"]);
    expect(version.code).toBe(0);
    expect(JSON.parse(version.stdout).version).toBe(VERSION);

    expect((await run(dir, ["migrate"])).code).toBe(0);
    const enqueued = await run(dir, ["enqueue", "shell", JSON.stringify({ inline: "echo smoke-$((6*7)); echo oops >&2" }), "--json"]);
    expect(enqueued.code).toBe(0);
    const id = JSON.parse(enqueued.stdout).id as string;

    const serve = Bun.spawn([bin, "serve"], { cwd: dir, env: env(dir), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const inspected = await eventually("the daemon to run the shell job", async () => {
      const r = await run(dir, ["jobs", "inspect", id, "--json"]);
      const parsed = r.code === 0 ? JSON.parse(r.stdout) : null;
      return parsed?.job.state === "succeeded" ? parsed : null;
    }, 30_000);
    serve.kill("SIGTERM");
    expect(await serve.exited).toBe(0);
    expect(inspected.runs).toHaveLength(1);
    expect(inspected.runs[0]).toMatchObject({ outcome: "success" });
    expect(inspected.runs[0].output).toMatchObject({ exit_code: 0, stdout: "smoke-42\n", stderr: "oops\n" });

    const status = await run(dir, ["status", "--json"]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).counts).toMatchObject({ succeeded: 1, running: 0, available: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("compiled binary: version, migrate, enqueue, serve, status on embedded SQLite", () => cycle("{ sqlite: ./smoke.db }"), 60_000);

describe.skipIf(await pgMissing())("compiled binary on PostgreSQL", () => {
  test("version, migrate, enqueue, serve, status on PostgreSQL", async () => {
    const schema = throwawaySchema();
    try {
      await cycle(`{ postgres: "${PG_URL}", schema: ${schema.name} }`);
    } finally {
      await schema.drop();
    }
  }, 60_000);
});
