import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { eventually } from "../support/helpers.ts";
import { cli, MAIN, sandbox, type Sandbox } from "./helpers.ts";
import { scheduleFixture, type ScheduleFixture } from "./schedule-fixture.ts";

// SPEC §20 "Logs" through the real CLI: `flywheel logs <slug|job> [-f] [--runs N]` prints the stored output of a
// job's runs, or of a schedule's latest runs, each under a header; `-f` follows new runs until Ctrl+C.

let box: Sandbox;
let fixture: ScheduleFixture;
const jobs: Record<string, string> = {};

beforeAll(async () => {
  box = await sandbox();
  box.write("flywheel.yaml", "db: { sqlite: ./fw.db }\nruntime: { http_addr: off }\n");
  fixture = await scheduleFixture(join(box.dir, "fw.db"), new Date("2026-11-28T12:00:00Z"));
  const { fw } = fixture;
  // Two attempts per fire, each writing to both streams and failing with exit 3.
  await fw.upsertPeriodic({ slug: "backup", kind: "shell", every: "1h", args: { inline: "echo saving; echo oops >&2; exit 3" }, maxAttempts: 2 });
  await fw.upsertPeriodic({ slug: "tidy", kind: "shell", every: "1h", args: { inline: "echo tidied" } });
  await fw.upsertPeriodic({ slug: "idle", kind: "shell", every: "1h", args: { inline: "true" } });
  jobs.first = await fixture.fire("backup");
  jobs.second = await fixture.fire("backup");
  jobs.tidy = await fixture.fire("tidy");
});
afterAll(async () => {
  await fixture.close();
  await box.remove();
});

/** The `==> … <==` headers of `logs` output, in order. */
const headers = (stdout: string) => stdout.split("\n").filter((l) => l.startsWith("==> ") && l !== "==> stderr <==");

describe("flywheel logs", () => {
  test("a schedule: its latest runs, oldest first, each with a header, stdout, and stderr under its own header", async () => {
    const { code, stdout, stderr } = await cli(box, ["logs", "backup"]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(headers(stdout)).toEqual([
      expect.stringMatching(new RegExp(`^==> backup: job ${jobs.first} attempt 1/2, started 2026-11-28 12:00:00Z, failed, exit 3, \\d+m?s <==$`)),
      expect.stringMatching(new RegExp(`^==> backup: job ${jobs.first} attempt 2/2, started 2026-11-28 1\\d:\\d\\d:\\d\\dZ, failed, exit 3, \\d+m?s <==$`)),
      expect.stringMatching(new RegExp(`^==> backup: job ${jobs.second} attempt 1/2, .*, failed, exit 3, .* <==$`)),
      expect.stringMatching(new RegExp(`^==> backup: job ${jobs.second} attempt 2/2, .*, failed, exit 3, .* <==$`)),
    ]);
    const first = stdout.slice(0, stdout.indexOf("\n==> backup: ", 1));
    expect(first.split("\n").slice(1)).toEqual(["error (transient): exit 3: oops", "saving", "==> stderr <==", "oops"]);
  });

  test("--runs N: the latest N runs only; --json: one line per run", async () => {
    const last = await cli(box, ["logs", "backup", "--runs", "1"]);
    expect(headers(last.stdout)).toEqual([expect.stringContaining(`job ${jobs.second} attempt 2/2`)]);
    const json = await cli(box, ["logs", "backup", "--runs", "3", "--json"]);
    const lines = json.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.job_id, l.attempt, l.outcome, l.output.exit_code, l.schedule])).toEqual([
      [jobs.first, 2, "error", 3, "backup"],
      [jobs.second, 1, "error", 3, "backup"],
      [jobs.second, 2, "error", 3, "backup"],
    ]);
    expect(lines[0].output).toMatchObject({ stdout: "saving\n", stderr: "oops\n" });
  });

  test("a job, by id or by a prefix of it", async () => {
    const full = await cli(box, ["logs", jobs.tidy!]);
    expect(full.code).toBe(0);
    expect(full.stdout).toMatch(new RegExp(`^==> tidy: job ${jobs.tidy} attempt 1/\\d+, started .*, succeeded, exit 0, \\d+m?s <==\\ntidied\\n$`));
    // On a fixed clock the ids share their time part; the random part tells them apart.
    expect(await cli(box, ["logs", jobs.tidy!.slice(0, 24)])).toEqual(full);
  });

  test("no runs yet; unknown names exit 1; a bad --runs is a usage error", async () => {
    expect(await cli(box, ["logs", "idle"])).toEqual({ code: 0, stdout: "no runs yet\n", stderr: "" });
    expect(await cli(box, ["logs", "nope"])).toEqual({ code: 1, stdout: "", stderr: 'flywheel: no schedule or job "nope"\n' });
    expect(await cli(box, ["logs", "00000000-0000"])).toEqual({ code: 1, stdout: "", stderr: 'flywheel: no schedule or job "00000000-0000"\n' });
    const bad = await cli(box, ["logs", "backup", "--runs", "0"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toEndWith('flywheel: --runs: expected a whole number ≥ 1, got "0"\n');
    expect((await cli(box, ["logs"])).code).toBe(2);
  });

  test("-f follows a schedule's new runs until Ctrl+C, then exits 0", async () => {
    const tail = spawnCli(["logs", "tidy", "-f"]);
    await tail.waitFor("the backlog", (out) => out.includes("tidied"));
    const next = await fixture.fire("tidy");
    await tail.waitFor("the new run", (out) => out.includes(`==> tidy: job ${next} attempt 1/`));
    tail.proc.kill("SIGINT");
    expect(await tail.proc.exited).toBe(0);
    expect(headers(tail.output()).filter((h) => h.includes(", succeeded, "))).toHaveLength(2);
  });

  test("-f on a job waits for it to end, reports its start and end, and exits 0 by itself", async () => {
    const id = await fixture.fw.triggerPeriodic("tidy");
    const tail = spawnCli(["logs", id, "-f"]);
    expect(tail.proc.exitCode).toBeNull();
    await fixture.fw.runUntilIdle();
    expect(await tail.proc.exited).toBe(0);
    // The start is reported when a poll sees the run open, which this in-process run may outpace.
    const seen = headers(tail.output());
    expect(seen.at(-1)).toMatch(new RegExp(`^==> tidy: job ${id} attempt 1/\\d+, started .*, succeeded, exit 0, \\d+m?s <==$`));
    expect(seen.slice(0, -1)).toEqual(seen.length === 2 ? [expect.stringMatching(new RegExp(`^==> tidy: job ${id} attempt 1/\\d+, started .*, running <==$`))] : []);
  });
});

/** A CLI process whose stdout is collected as it arrives. */
function spawnCli(args: string[]) {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], { cwd: box.dir, env: box.env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let out = "";
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stdout) out += decoder.decode(chunk, { stream: true });
  })();
  return {
    proc,
    output: () => out,
    waitFor: (what: string, check: (out: string) => boolean) =>
      eventually(what, () => {
        if (proc.exitCode !== null) throw new Error(`exited ${proc.exitCode}: ${out}`);
        return check(out);
      }),
  };
}
