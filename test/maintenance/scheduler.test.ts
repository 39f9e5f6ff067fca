import { expect, test } from "bun:test";
import { connect, defineWorker, FixedClock } from "flywheel";

const noop = defineWorker({ kind: "noop", async work() {} });

/** A client on a fixed clock with one worker kind to schedule. */
async function setup() {
  const clock = new FixedClock(new Date("2026-03-08T06:00:30Z"));
  const fw = await connect("sqlite::memory:", { clock });
  await fw.migrate();
  fw.register(noop);
  return { clock, fw };
}

test("the idle scheduler sleeps until the next fire and fires when the clock reaches it", async () => {
  const { clock, fw } = await setup();
  await fw.upsertPeriodic({ slug: "hourly", kind: "noop", every: "1h" });
  const stop = new AbortController();
  const running = fw.scheduler({ tickInterval: "10ms" }).run(stop.signal);
  const fired = fw.events.once("periodic:fired", (e) => e.slug === "hourly");
  // Nothing is due: ticks in real time change nothing until clock time reaches the fire.
  await Bun.sleep(50);
  expect(await fw.listJobs({ kind: "noop" })).toHaveLength(0);
  clock.advance("1h");
  expect((await fired).enqueued).toBe(1);
  stop.abort();
  await running;
  await fw.close();
});

test("an upsert wakes the sleeping scheduler so a schedule due sooner is not missed", async () => {
  const { clock, fw } = await setup();
  await fw.upsertPeriodic({ slug: "daily", kind: "noop", cron: "0 3 * * *" });
  const stop = new AbortController();
  const running = fw.scheduler({ tickInterval: "10ms" }).run(stop.signal);
  await fw.upsertPeriodic({ slug: "minutely", kind: "noop", every: "1m" });
  const fired = fw.events.once("periodic:fired", (e) => e.slug === "minutely");
  clock.advance("1m");
  expect((await fired).enqueued).toBe(1);
  stop.abort();
  await running;
  await fw.close();
});

test("an abort while the scheduler reads its next fire ends the run at once, not after the idle wait", async () => {
  const { fw } = await setup();
  await fw.upsertPeriodic({ slug: "daily", kind: "noop", cron: "0 3 * * *" });
  const stop = new AbortController();
  const original = fw.driver.periodicNextRunAt.bind(fw.driver);
  fw.driver.periodicNextRunAt = async (params) => {
    stop.abort();
    return original(params);
  };
  // The idle wait is a minute of real time: the run must end long before it.
  const ended = fw.scheduler({ tickInterval: "10ms" }).run(stop.signal).then(() => "stopped");
  expect(await Promise.race([ended, Bun.sleep(5_000).then(() => "still waiting")])).toBe("stopped");
  await fw.close();
});
