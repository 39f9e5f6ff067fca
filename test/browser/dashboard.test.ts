// The dashboard in a real browser (SPEC §19): Debian's Chromium, headless, driven by playwright-core, against a
// real node with real jobs. Without Chromium the test skips with one loud line, except under CI (`CI` set),
// where .ci/run installs it and a missing browser fails the run.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { eventually } from "../support/helpers.ts";
import { settled, startNode, TOKEN, type TestNode } from "../http/helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = resolve(import.meta.dir, "..", "artifacts");
const available = existsSync(CHROMIUM);
if (!available) {
  if (process.env.CI) throw new Error(`browser test: ${CHROMIUM} is missing under CI; .ci/run installs it with apt-get install -y chromium`);
  console.warn(`\n!!! SKIPPING the dashboard browser test: ${CHROMIUM} not found (apt-get install -y chromium) !!!\n`);
}

let node: TestNode;
let browser: Browser;
let page: Page;
let failedJob: string;

beforeAll(async () => {
  if (!available) return;
  node = await startNode();
  const enqueue = async (kind: string, args: unknown, options: Record<string, unknown> = {}) => {
    const { body } = await node.json("/api/v1/jobs", { body: { kind, args, options } });
    return body.job.id as string;
  };
  for (let n = 0; n < 3; n++) await settled(node.fw, await enqueue("echo", { n }));
  failedJob = await enqueue("shell", { inline: "echo compressing; echo 'tar: disk full' >&2; exit 3" }, { max_attempts: 1 });
  expect(await settled(node.fw, failedJob)).toBe("discarded");
  await node.json("/api/v1/schedules", { body: { slug: "nightly-backup", kind: "shell", cron: "0 3 * * *", timezone: "Europe/Berlin", args: { inline: "echo backed up" } } });
  await node.json("/api/v1/schedules", { body: { slug: "hourly-report", kind: "shell", every: "1h", args: { inline: "echo report" } } });
  const fired = await node.json("/api/v1/schedules/nightly-backup/trigger", { method: "POST" });
  expect(await settled(node.fw, fired.body.job_id)).toBe("succeeded");
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  // A fresh context is a fresh profile: no token from an earlier run in sessionStorage.
  page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(`${node.url}/`);
  expect(problems).toEqual([]);
}, 60_000);

afterAll(async () => {
  if (!available) return;
  await browser?.close();
  await node?.stop();
});

test.skipIf(!available)("the schedules table shows each slug with its last result", async () => {
  const row = page.locator("table.schedules tr[data-slug='nightly-backup']");
  await row.waitFor();
  await expect(row.locator("td.slug").textContent()).resolves.toBe("nightly-backup");
  await expect(row.locator("td.last-result").textContent()).resolves.toContain("succeeded");
  await expect(row.locator("td.last-result").textContent()).resolves.toContain("exit 0");
  // Next fire on the schedule's own wall clock: Berlin's 03:00.
  await expect(row.textContent()).resolves.toMatch(/03:00 (CET|CEST|GMT\+1|GMT\+2)/);
  await expect(page.locator("table.schedules tr[data-slug='hourly-report'] td.last-result").textContent()).resolves.toContain("never fired");
});

test.skipIf(!available)("a failed job opens from recent failures and shows its stderr and exit code", async () => {
  await page.locator("table.failures a").first().click();
  await page.waitForURL(`**/#/jobs/${failedJob}`);
  const stderr = page.locator("article.run .stream.stderr pre");
  await stderr.waitFor();
  await expect(stderr.textContent()).resolves.toBe("tar: disk full\n");
  await expect(page.locator("article.run .stream.stdout pre").textContent()).resolves.toBe("compressing\n");
  await expect(page.locator("article.run header").textContent()).resolves.toContain("exit 3");
  await page.goto(`${node.url}/#/`);
});

test.skipIf(!available)("pausing a schedule asks for the token once, and the API then reports it paused", async () => {
  const row = page.locator("table.schedules tr[data-slug='hourly-report']");
  await row.getByRole("button", { name: "Pause" }).click();
  const dialog = page.locator("dialog.token");
  await dialog.waitFor();
  await dialog.getByLabel("API token").fill(TOKEN);
  await dialog.getByRole("button", { name: "Use token" }).click();
  await row.getByRole("button", { name: "Resume" }).waitFor();
  const { body } = await node.json("/api/v1/schedules", { token: null });
  expect(body.schedules.find((s: { slug: string }) => s.slug === "hourly-report").active).toBe(false);
  // The token is kept for the tab: the next change asks for nothing.
  await row.getByRole("button", { name: "Resume" }).click();
  await row.getByRole("button", { name: "Pause" }).waitFor();
  expect(await dialog.isVisible()).toBe(false);
  await node.json("/api/v1/schedules/hourly-report/pause", { method: "POST" });
});

test.skipIf(!available)("the queues table pauses and resumes a queue for every node; the nodes table lists this node", async () => {
  const row = page.locator("table.queues tr[data-queue='default']");
  await row.getByRole("button", { name: "Pause" }).click();
  await row.getByRole("button", { name: "Resume" }).waitFor();
  await expect(row.locator("td.status").textContent()).resolves.toBe("paused");
  const paused = await node.json("/api/v1/queues", { token: null });
  expect(paused.body.queues.find((q: { name: string }) => q.name === "default")).toMatchObject({ paused: true, paused_by: "api" });
  await row.getByRole("button", { name: "Resume" }).click();
  await row.getByRole("button", { name: "Pause" }).waitFor();
  const resumed = await node.json("/api/v1/queues", { token: null });
  expect(resumed.body.queues.find((q: { name: string }) => q.name === "default")?.paused ?? false).toBe(false);

  const self = page.locator(`table.nodes tr[data-node='${node.fw.executorId}']`);
  await expect(self.textContent()).resolves.toContain("(this one)");
  await expect(self.textContent()).resolves.toContain(String(process.pid));
});

test.skipIf(!available)("a job's page shows its history: how it was enqueued, and a retry with its actor", async () => {
  await node.json(`/api/v1/jobs/${failedJob}/retry`, { method: "POST" });
  await settled(node.fw, failedJob);
  await page.goto(`${node.url}/#/jobs/${failedJob}`);
  const history = page.locator("table.history");
  await history.locator("tr[data-action='retried']").waitFor();
  await expect(history.locator("tr[data-action='enqueued']").textContent()).resolves.toContain("api");
  await expect(history.locator("tr[data-action='retried']").textContent()).resolves.toContain("api");
  await page.goto(`${node.url}/#/`);
});

test.skipIf(!available)("live: a job finished on the node shows up without a reload, then a screenshot", async () => {
  await eventually("the event stream to be open", async () => (await page.locator(".live").textContent())?.includes("live"));
  const before = await page.locator("table.schedules tr[data-slug='hourly-report'] td.last-result").textContent();
  expect(before).toContain("never fired");
  const fired = await node.json("/api/v1/schedules/hourly-report/trigger", { method: "POST" });
  await settled(node.fw, fired.body.job_id);
  await eventually("the dashboard to show the new fire", async () =>
    (await page.locator("table.schedules tr[data-slug='hourly-report'] td.last-result").textContent())?.includes("succeeded"),
  );
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, "dashboard.png"), fullPage: true });
});
