// One black-box test per endpoint of SPEC §19: a real node over a real SQLite file, called over real HTTP.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { defineWorker, defineWorkflow } from "../../src/index.ts";
import { deferred, eventually } from "../support/helpers.ts";
import { reaches, settled, startNode, type TestNode } from "./helpers.ts";

let node: TestNode;
const held = deferred();

/** Holds its slot until the test releases it: a job that stays `running`. */
const hold = defineWorker({ kind: "hold", work: () => held.promise });

/** A workflow with one memoized step, then a wait for the `approve` event, whose payload is its output. */
const approval = defineWorkflow({
  kind: "approval",
  async run(ctx) {
    const prepared = await ctx.step("prepare", () => ({ ready: true }));
    const decision = await ctx.waitForEvent("approve");
    return { output: { prepared, decision } };
  },
});

beforeAll(async () => {
  node = await startNode();
  node.fw.register(hold, approval);
});

afterAll(async () => {
  held.resolve();
  await node.stop();
});

async function enqueue(kind: string, args: unknown = {}, options: Record<string, unknown> = {}): Promise<string> {
  const { status, body } = await node.json("/api/v1/jobs", { body: { kind, args, options } });
  expect(status).toBe(201);
  return body.job.id;
}

describe("jobs", () => {
  test("POST /api/v1/jobs enqueues with options and answers 201 with the job", async () => {
    const { status, body } = await node.json("/api/v1/jobs", {
      body: { kind: "echo", args: { n: 7 }, options: { queue: "parked", priority: 5, unique_key: "api-echo-7", tags: ["t"], delay: "1h" } },
    });
    expect(status).toBe(201);
    expect(body.job).toMatchObject({ kind: "echo", args: { n: 7 }, queue: "parked", priority: 5, unique_key: "api-echo-7", tags: ["t"], state: "scheduled", max_attempts: 3 });
    const again = await node.json("/api/v1/jobs", { body: { kind: "echo", args: { n: 7 }, options: { unique_key: "api-echo-7" } } });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: "already_enqueued", existing_id: body.job.id });
  });

  test("POST /api/v1/jobs refuses args the worker's schema refuses, and unknown options, with 422 naming the field", async () => {
    const badArgs = await node.json("/api/v1/jobs", { body: { kind: "echo", args: { n: "seven" } } });
    expect(badArgs.status).toBe(422);
    expect(badArgs.body.error.code).toBe("validation");
    expect(badArgs.body.error.message).toContain("n");
    const badOption = await node.json("/api/v1/jobs", { body: { kind: "echo", options: { prio: 1 } } });
    expect(badOption.status).toBe(422);
    expect(badOption.body.error).toMatchObject({ code: "validation", field: "body.options.prio" });
  });

  test("GET /api/v1/jobs lists newest first, filters by state, kind and queue, and pages with before", async () => {
    const ids: string[] = [];
    for (let n = 0; n < 5; n++) ids.push(await enqueue("echo", { n }, { queue: "paging", delay: "1h" }));
    const seen: string[] = [];
    let before: string | null = null;
    do {
      const query: string = `?queue=paging&kind=echo&state=scheduled&limit=2${before ? `&before=${before}` : ""}`;
      const { status, body } = await node.json(`/api/v1/jobs${query}`);
      expect(status).toBe(200);
      expect(body.jobs.length).toBeLessThanOrEqual(2);
      seen.push(...body.jobs.map((j: { id: string }) => j.id));
      before = body.next_before;
    } while (before !== null);
    expect(seen).toEqual([...ids].reverse());
    const none = await node.json("/api/v1/jobs?queue=paging&state=succeeded");
    expect(none.body).toEqual({ jobs: [], next_before: null });
    const bad = await node.json("/api/v1/jobs?state=done");
    expect(bad.status).toBe(422);
    expect(bad.body.error.field).toBe("query.state");
  });

  test("GET /api/v1/jobs/:id has the job, every run with its output, and the workflow's steps; a prefix finds it too", async () => {
    const id = await enqueue("approval");
    await reaches(node.fw, id, ["waiting"]);
    const { status, body } = await node.json(`/api/v1/jobs/${id.slice(0, 13)}`);
    expect(status).toBe(200);
    expect(body.job).toMatchObject({ id, kind: "approval", state: "waiting", wait_reason: "event" });
    expect(body.runs).toHaveLength(1);
    expect(body.runs[0]).toMatchObject({ attempt: 1, outcome: "suspended" });
    expect(body.steps.map((s: { key: string; status: string }) => [s.key, s.status])).toContainEqual(["prepare", "completed"]);
    expect(body.steps.find((s: { key: string }) => s.key === "prepare").output).toEqual({ ready: true });
  });

  test("POST /api/v1/jobs/:id/events/:name emits to a waiting workflow, which ends with the payload", async () => {
    const id = await enqueue("approval");
    await reaches(node.fw, id, ["waiting"]);
    const { status, body } = await node.json(`/api/v1/jobs/${id}/events/approve`, { body: { by: "ann" } });
    expect(status).toBe(202);
    expect(body).toEqual({ job_id: id, name: "approve", emitted: true });
    expect(await settled(node.fw, id)).toBe("succeeded");
    const runs = await node.fw.listRuns(id);
    expect(runs.at(-1)!.output).toEqual({ prepared: { ready: true }, decision: { by: "ann" } });
    const late = await node.json(`/api/v1/jobs/${id}/events/approve`, { body: {} });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe("invalid_state");
  });

  test("POST /api/v1/jobs/:id/cancel cancels a job that has not finished; a second cancel is 409", async () => {
    const id = await enqueue("echo", {}, { delay: "1h" });
    const { status, body } = await node.json(`/api/v1/jobs/${id}/cancel`, { method: "POST" });
    expect(status).toBe(200);
    expect(body.job).toMatchObject({ id, state: "cancelled" });
    const again = await node.json(`/api/v1/jobs/${id}/cancel`, { method: "POST", body: { cascade: true } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("invalid_state");
  });

  test("POST /api/v1/jobs/:id/retry makes a discarded job available again; a running job is 409", async () => {
    const failed = await enqueue("broken");
    expect(await settled(node.fw, failed)).toBe("discarded");
    const { status, body } = await node.json(`/api/v1/jobs/${failed}/retry`, { method: "POST" });
    expect(status).toBe(200);
    expect(body.job.id).toBe(failed);
    expect(["available", "running", "discarded"]).toContain(body.job.state);
    await eventually("the retried job's second attempt", async () => (await node.fw.listRuns(failed)).length === 2);
    expect(await settled(node.fw, failed)).toBe("discarded");

    const running = await enqueue("hold");
    await reaches(node.fw, running, ["running"]);
    const refused = await node.json(`/api/v1/jobs/${running}/retry`, { method: "POST" });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("invalid_state");
    expect(refused.body.error.message).toContain("running");
  });
});

describe("schedules", () => {
  test("POST /api/v1/schedules creates (201) and updates (200) a schedule; GET lists it", async () => {
    const spec = { slug: "api-nightly", kind: "echo", cron: "0 3 * * *", timezone: "Europe/Berlin", args: { n: 1 }, catch_up: "latest", max_attempts: 2 };
    const created = await node.json("/api/v1/schedules", { body: spec });
    expect(created.status).toBe(201);
    expect(created.body.schedule).toMatchObject({ slug: "api-nightly", cron: "0 3 * * *", timezone: "Europe/Berlin", catch_up: "latest", max_attempts: 2, source: "api", active: true, last_fire: null });
    const updated = await node.json("/api/v1/schedules", { body: { ...spec, cron: "0 4 * * *" } });
    expect(updated.status).toBe(200);
    expect(updated.body.schedule.cron).toBe("0 4 * * *");
    const { status, body } = await node.json("/api/v1/schedules");
    expect(status).toBe(200);
    expect(body.schedules.map((s: { slug: string }) => s.slug)).toContain("api-nightly");
  });

  test("POST /api/v1/schedules refuses an invalid schedule with 422", async () => {
    const cron = await node.json("/api/v1/schedules", { body: { slug: "bad-cron", kind: "echo", cron: "every day" } });
    expect(cron.status).toBe(422);
    expect(cron.body.error.code).toBe("invalid_schedule");
    const both = await node.json("/api/v1/schedules", { body: { slug: "bad-both", kind: "echo", cron: "0 3 * * *", every: "5m" } });
    expect(both.status).toBe(422);
    const zone = await node.json("/api/v1/schedules", { body: { slug: "bad-zone", kind: "echo", cron: "0 3 * * *", timezone: "Mars/Olympus" } });
    expect(zone.status).toBe(422);
    const slug = await node.json("/api/v1/schedules", { body: { slug: "no spaces", kind: "echo", every: "5m" } });
    expect(slug.status).toBe(422);
    expect(slug.body.error.field).toBe("body.slug");
    expect((await node.json("/api/v1/schedules")).body.schedules.map((s: { slug: string }) => s.slug)).not.toContain("bad-cron");
  });

  test("pause, resume, trigger (with its last fire) and delete", async () => {
    await node.json("/api/v1/schedules", { body: { slug: "api-every", kind: "shell", every: "1h", args: { inline: "echo fired; exit 3" }, max_attempts: 1 } });
    const paused = await node.json("/api/v1/schedules/api-every/pause", { method: "POST" });
    expect(paused.status).toBe(200);
    expect(paused.body.schedule.active).toBe(false);
    const resumed = await node.json("/api/v1/schedules/api-every/resume", { method: "POST" });
    expect(resumed.body.schedule.active).toBe(true);

    const fired = await node.json("/api/v1/schedules/api-every/trigger", { method: "POST" });
    expect(fired.status).toBe(201);
    expect(fired.body.slug).toBe("api-every");
    expect(await settled(node.fw, fired.body.job_id)).toBe("discarded");
    const after = await node.json("/api/v1/schedules");
    const schedule = after.body.schedules.find((s: { slug: string }) => s.slug === "api-every");
    expect(schedule.last_fire).toMatchObject({ job_id: fired.body.job_id, state: "discarded", outcome: "error", exit_code: 3 });

    const deleted = await node.json("/api/v1/schedules/api-every", { method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ slug: "api-every", deleted: true });
    for (const [method, path] of [
      ["POST", "/api/v1/schedules/api-every/pause"],
      ["POST", "/api/v1/schedules/api-every/trigger"],
      ["DELETE", "/api/v1/schedules/api-every"],
    ] as const) {
      const missing = await node.json(path, { method });
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe("periodic_not_found");
    }
  });
});

describe("overview and nodes", () => {
  test("GET /api/v1/overview: kinds with defaults, health, queues, counts, schedules, failures, throughput, nodes", async () => {
    const ok = await enqueue("echo", { n: 1 });
    const bad = await enqueue("broken");
    await settled(node.fw, ok);
    await settled(node.fw, bad);
    const { status, body } = await node.json("/api/v1/overview");
    expect(status).toBe(200);
    expect(body.node).toMatchObject({ executor_id: node.fw.executorId, queues: ["default", "periodic"], writable: true });
    expect(body.kinds).toContainEqual({ kind: "echo", queue: null, priority: null, max_attempts: 3, timeout_ms: 30_000, args_schema: true });
    expect(body.health.counts.succeeded).toBeGreaterThan(0);
    expect(body.queues.map((q: { name: string }) => q.name)).toEqual(expect.arrayContaining(["default", "periodic"]));
    expect(body.counts).toContainEqual(expect.objectContaining({ kind: "broken", state: "discarded" }));
    expect(body.failures).toContainEqual(expect.objectContaining({ job_id: bad, kind: "broken", error_message: "broken on purpose" }));
    expect(Array.isArray(body.schedules)).toBe(true);
    expect(body.throughput.buckets).toHaveLength(60);
    expect((await node.call("/api/v1/overview")).headers.get("server-timing")).toMatch(/^overview;dur=\d+\.\d$/);
    const last = body.throughput.buckets.at(-1);
    expect(last.succeeded).toBeGreaterThan(0);
    expect(last.failed).toBeGreaterThan(0);
    expect(body.nodes).toEqual([expect.objectContaining({ executor_id: node.fw.executorId, pid: process.pid, self: true })]);
    // A paused queue no one serves still has a row, paused, read fresh rather than from the sampled counts.
    await node.fw.pauseQueue("overview-parked", { by: "test" });
    const again = await node.json("/api/v1/overview");
    expect(again.body.queues.find((q: { name: string }) => q.name === "overview-parked")).toMatchObject({ paused: true, paused_by: "test", ready: 0 });
    expect(again.body.queues.find((q: { name: string }) => q.name === "default")).toMatchObject({ paused: false, paused_by: null });
    await node.fw.resumeQueue("overview-parked");
  });

  test("a node of no runners and no scheduler serves the API until its signal aborts, then closes the server", async () => {
    const only = await startNode({ runners: false });
    try {
      await Bun.sleep(50);
      const { status, body } = await only.json("/api/v1/overview");
      expect(status).toBe(200);
      expect(body.node.queues).toEqual([]);
    } finally {
      await only.stop();
    }
    await expect(fetch(`${only.url}/healthz`)).rejects.toThrow();
  });

  test("GET /api/v1/nodes lists the registry's live nodes, this one marked self", async () => {
    const { status, body } = await node.json("/api/v1/nodes");
    expect(status).toBe(200);
    expect(body.nodes).toHaveLength(1);
    expect(body.nodes[0]).toMatchObject({ executor_id: node.fw.executorId, pid: process.pid, self: true });
  });
});

describe("queues", () => {
  test("pause and resume a queue with the token; the list shows who paused it; without the token, 401 and nothing changes", async () => {
    const refused = await node.json("/api/v1/queues/reports/pause", { method: "POST", token: null });
    expect(refused.status).toBe(401);
    expect((await node.json("/api/v1/queues")).body.queues.find((q: { name: string }) => q.name === "reports")).toBeUndefined();
    const paused = await node.json("/api/v1/queues/reports/pause", { method: "POST" });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ changed: true, queue: { name: "reports", paused: true, paused_by: "api" } });
    expect((await node.json("/api/v1/queues/reports/pause", { method: "POST" })).body.changed).toBe(false);
    const listed = await node.json("/api/v1/queues");
    expect(listed.body.queues).toContainEqual(expect.objectContaining({ name: "reports", paused: true, paused_by: "api" }));
    const resumed = await node.json("/api/v1/queues/reports/resume", { method: "POST" });
    expect(resumed.body).toMatchObject({ changed: true, queue: { name: "reports", paused: false, paused_by: null } });
  });
});

describe("topics", () => {
  test("publish fans out through the bindings, idempotent with unique_key; a bad topic is 422 naming it", async () => {
    await node.fw.bind("api.*.done", { kind: "echo", args: { n: 5 } });
    const published = await node.json("/api/v1/topics/api.x.done", { method: "POST", body: { payload: { ok: true }, unique_key: "k-1" } });
    expect(published.status).toBe(201);
    expect(published.body.jobs).toHaveLength(1);
    const again = await node.json("/api/v1/topics/api.x.done", { method: "POST", body: { unique_key: "k-1" } });
    expect(again.body.jobs).toEqual(published.body.jobs);
    expect((await node.json(`/api/v1/jobs/${published.body.jobs[0]}`)).body.history[0]).toMatchObject({ action: "enqueued", actor: "api" });
    const bad = await node.json("/api/v1/topics/api..done", { method: "POST", body: {} });
    expect(bad.status).toBe(422);
    expect(bad.body.error.message).toContain('"api..done"');
    expect((await node.json("/api/v1/bindings")).body.bindings).toContainEqual(expect.objectContaining({ pattern: "api.*.done", kind: "echo" }));
    expect((await node.json("/api/v1/topics/api.x.done", { method: "POST", body: {}, token: null })).status).toBe(401);
  });
});
