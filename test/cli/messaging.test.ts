import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { cli, cliJson, databaseWithJobs, openDb, sandbox, serve, type Sandbox } from "./helpers.ts";

// SPEC §18 through the real CLI: queues ls/pause/resume, nodes ls, and status's warning when no node runs.

let box: Sandbox;

beforeAll(async () => {
  box = await sandbox();
  box.write("flywheel.yaml", "db: { sqlite: ./fw.db }\nruntime: { queues: [parked], http_addr: off }\nlog: { format: json }\n");
  await databaseWithJobs(join(box.dir, "fw.db"), 2);
});
afterAll(() => box.remove());

describe("queues", () => {
  test("pause and resume a queue; ls shows who paused it and its jobs; --json has the same", async () => {
    expect(await cli(box, ["queues", "pause", "parked"])).toEqual({ code: 0, stdout: "paused queue parked\n", stderr: "" });
    expect(await cli(box, ["queues", "pause", "parked"])).toEqual({ code: 0, stdout: "queue parked was already paused\n", stderr: "" });
    const [queue] = await cliJson(box, ["queues", "ls"]);
    expect(queue).toMatchObject({ name: "parked", paused: true, paused_by: "operator", counts: { available: 2 } });
    const human = await cli(box, ["queues", "ls"]);
    expect(human.stdout).toMatch(/^QUEUE\s+PAUSED\s+READY/);
    expect(human.stdout).toMatch(/parked\s+since \S+ \S+ by operator\s+2\s/);
    expect(await cliJson(box, ["queues", "resume", "parked"])).toEqual({ queue: "parked", paused: false, changed: true });
    expect((await cliJson(box, ["queues", "ls"]))[0]).toMatchObject({ paused: false, paused_by: null });
  });

  test("a queue name is required: usage, exit 2", async () => {
    const result = await cli(box, ["queues", "pause"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("name");
  });
});

describe("nodes and status", () => {
  test("with no daemon, status warns that ready jobs wait for a node; with one, nodes ls lists it and the warning goes", async () => {
    const quiet = await cliJson(box, ["status"]);
    expect(quiet.nodes).toEqual([]);
    expect(quiet.warnings).toEqual(["no node is running: 2 ready jobs wait for one"]);
    expect((await cli(box, ["status"])).stdout).toStartWith("warning: no node is running: 2 ready jobs wait for one\nnodes 0\n");

    await cli(box, ["queues", "pause", "parked"]);
    const daemon = serve(box, ["--config", "flywheel.yaml"]);
    try {
      await daemon.waitForLog("node started", (l) => l.msg === "flywheel: node started");
      const nodes = await cliJson(box, ["nodes", "ls"]);
      expect(nodes).toHaveLength(1);
      expect(nodes[0]).toMatchObject({ pid: daemon.proc.pid, queues: ["parked"], kinds: expect.arrayContaining(["shell", "exec"]) });
      expect((await cli(box, ["nodes", "ls"])).stdout).toMatch(new RegExp(`^NODE\\s+HOST\\s+PID.*\\n\\S{8}\\s+\\S+\\s+${daemon.proc.pid}\\s`));
      const busy = await cliJson(box, ["status"]);
      expect(busy.warnings).toEqual([]);
      expect(busy.nodes.map((n: any) => n.pid)).toEqual([daemon.proc.pid]);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
    // A node that stopped cleanly leaves the registry at once.
    expect(await cliJson(box, ["nodes", "ls"])).toEqual([]);
    const fw = await openDb(join(box.dir, "fw.db"));
    try {
      // The queue stayed paused across the daemon's life: nothing was claimed.
      expect((await fw.listJobs()).map((j) => j.state)).toEqual(["available", "available"]);
    } finally {
      await fw.close();
    }
  });
});

describe("topics", () => {
  test("bindings add/ls/rm and publish: one job per matching binding, idempotent with --unique; a bad topic is usage, exit 2", async () => {
    expect(await cli(box, ["bindings", "add", "orders.*.paid", "shell", "--queue", "parked", "--args", '{"inline":"true"}'])).toEqual({ code: 0, stdout: "bound orders.*.paid to shell\n", stderr: "" });
    expect(await cliJson(box, ["bindings", "ls"])).toMatchObject([{ pattern: "orders.*.paid", kind: "shell", queue: "parked", args: { inline: "true" } }]);
    const first = await cliJson(box, ["publish", "orders.eu.paid", '{"id":7}', "--unique", "evt-7"]);
    expect(first.jobs).toHaveLength(1);
    expect((await cliJson(box, ["publish", "orders.eu.paid", '{"id":7}', "--unique", "evt-7"])).jobs).toEqual(first.jobs);
    expect(await cli(box, ["publish", "users.new"])).toEqual({ code: 0, stdout: "no binding matches users.new: nothing enqueued\n", stderr: "" });
    const bad = await cli(box, ["publish", "orders..paid"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"orders..paid"');
    const inspect = await cliJson(box, ["jobs", "inspect", first.jobs[0]]);
    expect(inspect.history[0]).toMatchObject({ action: "enqueued", actor: "cli", detail: { topic: "orders.eu.paid", binding: "orders.*.paid" } });
    expect((await cliJson(box, ["bindings", "rm", "orders.*.paid", "shell"])).removed).toBe(true);
    expect(await cliJson(box, ["bindings", "ls"])).toEqual([]);
  });
});
