import { afterEach, expect, test } from "bun:test";
import { connect, type Flywheel } from "../src/index.ts";
import { defineWorker } from "../src/runtime/define-worker.ts";
import { assertEnqueued, FixedClock, runUntilIdle, workJob } from "../src/testing.ts";

let fw: Flywheel;
afterEach(() => fw.close());

test("flywheel/testing: workJob, runUntilIdle and assertEnqueued", async () => {
  const clock = new FixedClock(new Date("2026-03-08T06:00:00Z"));
  fw = await connect("sqlite::memory:", { clock });
  await fw.migrate();
  fw.register(defineWorker({ kind: "signup", work: (job) => ({ followUps: [{ kind: "send_email", args: { to: (job.args as { email: string }).email, template: "welcome" } }] }) }));
  fw.register(defineWorker({ kind: "send_email", work: () => undefined }));
  const id = await fw.insert("signup", { email: "a@example.com" });
  expect((await workJob(fw, id)).state).toBe("succeeded");
  const email = await assertEnqueued(fw, "send_email", { to: "a@example.com" });
  expect(email.args).toEqual({ to: "a@example.com", template: "welcome" });
  await expect(assertEnqueued(fw, "send_email", { to: "b@example.com" })).rejects.toThrow('enqueued send_email args: {"to":"a@example.com","template":"welcome"}');
  expect(await runUntilIdle(fw)).toBe(1);
  await assertEnqueued(fw, "send_email", undefined, { state: "succeeded" });
  const later = await fw.insert("signup", { email: "c@example.com" }, { delay: "1m" });
  await expect(workJob(fw, later)).rejects.toThrow("was not claimable (state scheduled");
  clock.advance("1m");
  expect((await workJob(fw, later)).state).toBe("succeeded");
});
