import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { connect, defineWorkflow, type Flywheel } from "../../src/index.ts";
import { cli, cliJson, sandbox, type Sandbox } from "./helpers.ts";

// The CLI knows workflows: `jobs inspect` shows what a run waits for and its steps, `emit` wakes it, `status`
// counts it waiting. The workflow itself runs in the app (the library); the CLI only reads and emits.

let box: Sandbox;
let fw: Flywheel;
let id: string;

const approver = defineWorkflow({
  kind: "approver",
  async run(ctx) {
    const checked = await ctx.step("check", () => ({ ok: true }));
    const approval = await ctx.waitForEvent("approval", { timeout: "7d" });
    return { output: { checked, approval } };
  },
});

beforeAll(async () => {
  box = await sandbox();
  box.write("flywheel.yaml", "db: { sqlite: ./fw.db }\n");
  fw = await connect(`sqlite:${join(box.dir, "fw.db")}`);
  await fw.migrate();
  fw.register(approver);
  id = await fw.insert(approver, {});
  await fw.runUntilIdle();
});

afterAll(async () => {
  await fw?.close();
  await box?.remove();
});

test("jobs inspect shows a waiting run's wait and its steps; status counts it", async () => {
  const text = await cli(box, ["jobs", "inspect", id]);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/state +waiting/);
  expect(text.stdout).toMatch(/waiting for +event \(event:approval\) until /);
  expect(text.stdout).toMatch(/run 1 +suspended/);
  expect(text.stdout).toMatch(/check +completed +1 .*\{"ok":true\}/);
  const json = await cliJson(box, ["jobs", "inspect", id]);
  expect(json.job).toMatchObject({ state: "waiting", wait_reason: "event" });
  expect(json.steps.map((s: { key: string; status: string }) => [s.key, s.status])).toEqual([
    ["check", "completed"],
    ["event:approval", "waiting"],
  ]);
  expect((await cliJson(box, ["status"])).counts.waiting).toBe(1);
});

test("emit wakes the run; bad input is a usage error, an unknown id exit 1", async () => {
  expect(await cli(box, ["emit", id, "approval", "{nope"])).toMatchObject({ code: 2 });
  const unknown = await cli(box, ["emit", "00000000-0000-7000-8000-000000000000", "approval"]);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain("not found");
  expect(await cliJson(box, ["emit", id, "approval", '{"by":"ann"}'])).toEqual({ id, name: "approval", state: "available" });
  await fw.runUntilIdle();
  expect(await fw.result(id)).toEqual({ checked: { ok: true }, approval: { by: "ann" } });
  const done = await cli(box, ["emit", id, "approval", "{}"]);
  expect(done.code).toBe(1);
  expect(done.stderr).toContain("already succeeded");
});
