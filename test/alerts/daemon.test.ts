import { afterEach, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { connect, FixedClock, silentLogger, type Flywheel } from "flywheel";
import { loadConfig, runDaemon } from "flywheel/daemon";
import { eventually, tempDir } from "../support/helpers.ts";
import { jsonOf, type Received, Receiver, type Responder } from "./receiver.ts";

// The daemon's alerts end to end: a real daemon (runDaemon) on a real SQLite file, its alert and ping jobs
// delivered to a local receiver. Waits are on the receiver's requests or on the database, each bounded.

/** Settings that make a daemon quick to test: no HTTP unless asked, fast polls, millisecond retry backoff. */
const RUNTIME = "poll_interval: 20ms, drain_timeout: 5s, retry_backoff: { base: 10ms, cap: 50ms }";

interface Running {
  dir: string;
  db: string;
  receiver: Receiver;
  /** A second client on the daemon's database, for looking at what it stored. */
  client(): Promise<Flywheel>;
  /** Aborts the daemon and waits for its drain. */
  stop(): Promise<void>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Writes `yaml(receiverUrl)` as flywheel.yaml in a fresh directory and starts a daemon on it. */
async function startDaemon(yaml: (receiver: string) => string, options: { respond?: Responder; before?: (db: string) => Promise<void> } = {}): Promise<Running> {
  const dir = await tempDir("flywheel-alerts-");
  const receiver = new Receiver(options.respond);
  const db = join(dir.path, "jobs.db");
  let client: Flywheel | undefined;
  const stop = new AbortController();
  let running: Promise<void> = Promise.resolve();
  cleanups.push(async () => {
    stop.abort();
    await running.catch(() => {});
    await client?.close();
    await receiver.stop();
    await dir.remove();
  });
  writeFileSync(join(dir.path, "flywheel.yaml"), `db: { sqlite: ./jobs.db }\n${yaml(receiver.url)}`);
  await options.before?.(db);
  const config = loadConfig({ explicit: join(dir.path, "flywheel.yaml"), env: {}, cwd: dir.path });
  running = runDaemon({ config, signal: stop.signal, logger: silentLogger });
  return {
    dir: dir.path,
    db,
    receiver,
    client: async () => (client ??= await eventually("the daemon's database", () => connect(`sqlite:${db}`))),
    stop: async () => {
      stop.abort();
      await running;
    },
  };
}

const hook = (event: string) => (r: Received) => r.path === "/hook" && jsonOf(r).event === event;

test("a failing schedule sends one failure alert with its stderr tail, a command alert and a /fail ping; the next success a recovery and a success ping", async () => {
  const d = await startDaemon(
    (url) => `runtime: { http_addr: "127.0.0.1:0", ${RUNTIME} }
alerts:
  - on: [failure, recovery]
    webhook: ${url}/hook
  - on: failure
    command: [sh, -c, 'printf "%s %s %s" "$FLYWHEEL_ALERT_EVENT" "$FLYWHEEL_SCHEDULE" "$FLYWHEEL_EXIT_CODE" > command-alert.txt']
schedules:
  - slug: flaky
    every: 1s
    worker: shell
    max_attempts: 1
    ping: ${url}/ping/flaky
    shell:
      # Fails its first run, succeeds after.
      inline: |
        if [ -f marker ]; then echo fine; exit 0; fi
        touch marker
        echo "line one" >&2
        echo "disk full" >&2
        exit 3
`,
  );
  const [failure] = await d.receiver.waitFor("a failure alert", hook("failure"));
  const [recovery] = await d.receiver.waitFor("a recovery alert", hook("recovery"));
  const failed = jsonOf(failure!);
  const recovered = jsonOf(recovery!);
  // Each run's pings, paired by the run id healthchecks.io uses: start first, then its end.
  const pings = (jobId: string) => d.receiver.matching((r) => r.path.startsWith("/ping/flaky") && r.query.get("rid") === jobId).map((r) => r.path);
  await d.receiver.waitFor("the failed run's pings", (r) => r.query.get("rid") === failed.job_id, 2);
  await d.receiver.waitFor("the recovered run's pings", (r) => r.query.get("rid") === recovered.job_id, 2);
  const fw = await d.client();
  const commandAlert = await eventually("the command alert's file", () => readFileSync(join(d.dir, "command-alert.txt"), "utf8"));
  await d.stop();

  expect(failed).toMatchObject({
    version: 1,
    event: "failure",
    schedule: "flaky",
    title: "flaky failed",
    state: "discarded",
    exit_code: 3,
    attempts: 1,
    error: "exit 3: disk full",
    stderr_tail: "line one\ndisk full",
    consecutive_failures: 1,
    host: hostname(),
    reason: null,
  });
  expect(failed.text).toStartWith(`flywheel: schedule flaky on ${hostname()} failed: discarded, exit 3, after 1 attempt`);
  expect(failed.text).toContain("disk full");
  expect(failed.links.api).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/api/v1/jobs/${failed.job_id}$`));
  expect(failed.links.dashboard).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/jobs/${failed.job_id}$`));
  expect(failure!.headers.get("content-type")).toBe("application/json");
  expect(failure!.headers.get("x-flywheel-event")).toBe("failure");
  expect(failure!.headers.get("user-agent")).toStartWith("flywheel/");
  expect(recovered).toMatchObject({ event: "recovery", schedule: "flaky", state: "succeeded", exit_code: 0, consecutive_failures: 1 });
  expect(commandAlert).toBe("failure flaky 3");

  // One failure alert: later runs succeed and stay quiet.
  expect(d.receiver.matching(hook("failure"))).toHaveLength(1);
  expect(d.receiver.matching(hook("recovery"))).toHaveLength(1);
  expect(pings(failed.job_id)).toEqual(["/ping/flaky/start", "/ping/flaky/fail"]);
  expect(pings(recovered.job_id)).toEqual(["/ping/flaky/start", "/ping/flaky"]);
  expect(d.receiver.matching((r) => r.path === "/ping/flaky/fail")[0]!.body).toContain("disk full");

  // The deliveries are jobs like any other: audited, on queue alerts.
  const delivery = await fw.findJob(failure!.headers.get("x-flywheel-delivery")!);
  expect(delivery).toMatchObject({ kind: "alert.webhook", queue: "alerts", state: "succeeded" });
  expect(delivery.uniqueKey).toMatch(new RegExp(`^alert:flaky:failure@${failed.job_id}:[0-9a-f]{12}$`));
  const [run] = await fw.listRuns(delivery.id);
  expect(run).toMatchObject({ outcome: "success", output: { status: 200, method: "POST" } });
});

test("a fire skipped by overlap sends one skipped alert naming the reason, however many fires the long run overlaps", async () => {
  const d = await startDaemon(
    (url) => `runtime: { http_addr: off, ${RUNTIME} }
alerts: { on: [skipped], webhook: "${url}/hook", format: json }
schedules:
  - slug: slow
    every: 1s
    worker: shell
    overlap: skip
    max_attempts: 1
    shell: { inline: 'while [ ! -f release ]; do sleep 0.02; done' }
`,
  );
  const [skipped] = await d.receiver.waitFor("a skipped alert", hook("skipped"));
  const fw = await d.client();
  await eventually("three fires skipped behind the one run", async () => (await fw.findPeriodic("slow")).skippedCount >= 3);
  writeFileSync(join(d.dir, "release"), "");
  await d.stop();

  expect(jsonOf(skipped!)).toMatchObject({ event: "skipped", schedule: "slow", reason: "overlap", skipped: 1, job_id: null, links: null });
  expect(jsonOf(skipped!).text).toContain("its previous run was still active (overlap: skip)");
  const alerts = (await fw.listJobs({ kind: "alert.webhook" })).filter((j) => j.uniqueKey?.startsWith("alert:slow:skipped@overlap@"));
  expect(alerts).toHaveLength(1);
});

test("a fire due while no daemon ran is reported missed by the daemon at start, once", async () => {
  // A yearly schedule whose fire passed while nothing ran: it was saved, by a client whose clock stood a day
  // before that fire, and no scheduler ran since.
  const now = new Date();
  let year = now.getUTCFullYear();
  if (now.getTime() - Date.UTC(year, 0, 1) < 60_000) year -= 1;
  const fireAt = new Date(Date.UTC(year, 0, 1));
  const d = await startDaemon(
    (url) => `runtime: { http_addr: off, ${RUNTIME} }
alerts: { on: [missed], webhook: "${url}/hook" }
schedules:
  - slug: yearly
    cron: "0 0 1 1 *"
    worker: shell
    grace: 1s
    max_attempts: 1
    shell: { inline: "true" }
`,
    {
      before: async (db) => {
        const past = await connect(`sqlite:${db}`, { clock: new FixedClock(new Date(fireAt.getTime() - 86_400_000)) });
        await past.migrate();
        await past.upsertPeriodic({ slug: "yearly", kind: "shell", cron: "0 0 1 1 *", args: { inline: "true" } });
        await past.close();
      },
    },
  );
  const [missed] = await d.receiver.waitFor("a missed alert", hook("missed"));
  const fw = await d.client();
  // The late fire then runs; its late start is the same missed fire, already alerted.
  await eventually("the late fire's job to succeed", async () => (await fw.listJobs({ kind: "shell", state: "succeeded" })).length > 0);
  await d.stop();

  expect(jsonOf(missed!)).toMatchObject({ event: "missed", schedule: "yearly", reason: "not_fired", fire_at: fireAt.toISOString(), grace_ms: 1000, job_id: null });
  expect(jsonOf(missed!).text).toContain("no scheduler fired it");
  const alerts = (await fw.listJobs({ kind: "alert.webhook" })).filter((j) => j.uniqueKey?.startsWith("alert:yearly:missed@"));
  expect(alerts.map((j) => j.uniqueKey)).toEqual([expect.stringMatching(new RegExp(`^alert:yearly:missed@${fireAt.getTime() / 1000}:`))]);
  expect(d.receiver.matching(hook("missed"))).toHaveLength(1);
});

test("an alert the receiver refuses with 503 is retried, and both attempts are in the audit trail", async () => {
  const d = await startDaemon(
    (url) => `runtime: { http_addr: off, ${RUNTIME} }
schedules:
  - slug: broken
    every: 1s
    worker: shell
    max_attempts: 1
    shell: { inline: "exit 1" }
    alerts: { on: failure, webhook: "${url}/hook" }
`,
    { respond: (_r, i) => (i === 0 ? 503 : 200) },
  );
  const [first, second] = await d.receiver.waitFor("a failure alert and its retry", hook("failure"), 2);
  const fw = await d.client();
  const id = second!.headers.get("x-flywheel-delivery")!;
  await eventually("the delivery to succeed", async () => (await fw.findJob(id)).state === "succeeded");
  await d.stop();

  // One delivery, retried: the same job id and body both times.
  expect(first!.headers.get("x-flywheel-delivery")).toBe(id);
  expect(first!.body).toBe(second!.body);
  const runs = await fw.listRuns(id);
  expect(runs.map((r) => r.outcome)).toEqual(["error", "success"]);
  expect(runs[0]).toMatchObject({ errorClass: "transient", errorMessage: expect.stringContaining("status 503"), output: { status: 503 } });
});

test("a schedule's job that fails while the daemon drains still has its failure alert enqueued before the database closes", async () => {
  const d = await startDaemon(
    (url) => `runtime: { http_addr: off, ${RUNTIME} }
schedules:
  - slug: draining
    every: 1s
    worker: shell
    max_attempts: 1
    shell: { inline: 'while [ ! -f release ]; do sleep 0.02; done; echo "stopped mid-way" >&2; exit 2' }
    alerts: { on: failure, webhook: "${url}/hook" }
`,
  );
  const fw = await d.client();
  const job = await eventually("the schedule's job to run", async () => (await fw.listJobs({ kind: "shell", state: "running" }))[0]);
  const stopping = d.stop();
  writeFileSync(join(d.dir, "release"), "");
  await stopping;

  expect((await fw.findJob(job.id)).state).toBe("discarded");
  const [alert] = (await fw.listJobs({ kind: "alert.webhook" })).filter((j) => j.uniqueKey?.startsWith(`alert:draining:failure@${job.id}:`));
  expect(alert).toBeDefined();
  expect(JSON.parse((alert!.args as { body: string }).body)).toMatchObject({ event: "failure", job_id: job.id, exit_code: 2, stderr_tail: "stopped mid-way" });
});
