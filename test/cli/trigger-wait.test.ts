import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eventually } from "../support/helpers.ts";
import { cli, cliJson, sandbox, serve, type Sandbox, type Serve } from "./helpers.ts";

// SPEC §20 through the real CLI and daemon: `schedule trigger <slug> --wait` prints the job's output and exits
// with its exit code (0; the job's code; 1 without one; 124 on --timeout), and warns when nothing will run it.

let box: Sandbox;
let daemon: Serve | undefined;

const schedule = (slug: string, inline: string) => `  - { slug: ${slug}, every: 1d, worker: shell, max_attempts: 1, shell: { inline: ${JSON.stringify(inline)} } }\n`;

beforeAll(async () => {
  box = await sandbox();
  box.write(
    "flywheel.yaml",
    "db: { sqlite: ./fw.db }\nruntime: { http_addr: off, poll_interval: 50ms }\nlog: { format: json }\nschedules:\n" +
      schedule("hello", "echo hello; echo note >&2") +
      schedule("broken", "echo half; echo 'disk full' >&2; exit 7") +
      schedule("killed", "kill -9 $$"),
  );
  // A schedule on a queue the daemon does not serve.
  const added = await cli(box, ["schedule", "add", "lonely", "shell", "--every", "1d", "--queue", "elsewhere", "--args", '{"inline":"true"}']);
  expect(added.code).toBe(0);
});
afterAll(async () => {
  if (daemon) expect(await daemon.stop("SIGTERM")).toBe(0);
  await box.remove();
});

describe("schedule trigger --wait", () => {
  test("with no node running it warns before waiting; --timeout ends the wait with 124", async () => {
    const result = await cli(box, ["schedule", "trigger", "lonely", "--wait", "--timeout", "300ms"]);
    expect(result.code).toBe(124);
    expect(result.stdout).toBe("");
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe('warning: no node is running: the job waits on queue "elsewhere" until `flywheel serve` runs');
    expect(lines[1]).toMatch(/^lonely: job [0-9a-f-]{36} enqueued; waiting for it to end$/);
    const id = lines[1]!.split(" ")[2]!;
    expect(lines.at(-1)).toBe(`flywheel: job ${id} has not ended after 300ms; it carries on (follow it: flywheel logs ${id} -f)`);
  });

  test("usage errors: a bad --timeout, --timeout without --wait", async () => {
    const bad = await cli(box, ["schedule", "trigger", "hello", "--wait", "--timeout", "soon"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toEndWith('flywheel: --timeout: expected a duration with a unit (ms, s, m, h, d) such as 30s, 10m, 2h or 30d, got "soon"\n');
    const alone = await cli(box, ["schedule", "trigger", "hello", "--timeout", "1s"]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toEndWith("flywheel: --timeout: only with --wait\n");
    expect((await cliJson(box, ["jobs", "ls", "--queue", "periodic"])).length).toBe(0);
  });

  describe("with a daemon", () => {
    beforeAll(async () => {
      daemon = serve(box, []);
      await daemon.waitForLog("node started", (l) => l.msg === "flywheel: node started");
      await eventually("the node's registry row", async () => (await cliJson(box, ["nodes", "ls"])).length === 1);
    });

    test("a success: its stdout on stdout, its stderr and a header per attempt on stderr, exit 0", async () => {
      const { code, stdout, stderr } = await cli(box, ["schedule", "trigger", "hello", "--wait"]);
      expect(stdout).toBe("hello\n");
      expect(code).toBe(0);
      const lines = stderr.trimEnd().split("\n");
      expect(lines[0]).toMatch(/^hello: job [0-9a-f-]{36} enqueued; waiting for it to end$/);
      expect(lines.at(-2)).toMatch(/^==> hello: job [0-9a-f-]{36} attempt 1\/1, started .+Z, succeeded, exit 0, \d+m?s <==$/);
      expect(lines.at(-1)).toBe("note");
      expect(stderr).not.toContain("warning:");
    });

    test("a failure exits with the job's exit code", async () => {
      const { code, stdout, stderr } = await cli(box, ["schedule", "trigger", "broken", "--wait"]);
      expect({ code, stdout }).toEqual({ code: 7, stdout: "half\n" });
      expect(stderr).toMatch(/==> broken: job \S+ attempt 1\/1, started .+, failed, exit 7, \d+m?s <==\nerror \(transient\): exit 7: disk full\ndisk full\n$/);
    });

    test("a failure without an exit code (killed by a signal) exits 1", async () => {
      const { code, stderr } = await cli(box, ["schedule", "trigger", "killed", "--wait"]);
      expect(code).toBe(1);
      expect(stderr).toMatch(/==> killed: job \S+ attempt 1\/1, started .+, failed, SIGKILL, \d+m?s <==\n/);
    });

    test("--json: one document at the end with the job, its runs and the exit status", async () => {
      const result = await cli(box, ["schedule", "trigger", "broken", "--wait", "--json"]);
      expect(result.code).toBe(7);
      expect(result.stderr).toBe("");
      const doc = JSON.parse(result.stdout);
      expect(doc).toMatchObject({ enqueued: true, exit_status: 7, job: { state: "discarded", kind: "shell" } });
      expect(doc.runs.map((r: any) => [r.outcome, r.output.exit_code, r.output.stdout])).toEqual([["error", 7, "half\n"]]);
    });

    test("a node that does not serve the schedule's queue: warned, and the wait times out", async () => {
      const result = await cli(box, ["schedule", "trigger", "lonely", "--wait", "--timeout", "200ms"]);
      expect(result.code).toBe(124);
      // The fire queued by the first test still holds the overlap key: this trigger waits for that job.
      expect(result.stderr).toStartWith('warning: no running node serves queue "elsewhere" (they serve ');
      expect(result.stderr).toContain("lonely: already enqueued: job ");
    });
  });
});
