import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { eventually, processGone } from "../support/helpers.ts";
import { cli, openDb, sandbox, serve, type Sandbox } from "../cli/helpers.ts";

// SPEC §11: whatever kills the daemon, its jobs' process groups end with it, so two attempts of one job never run
// at once. The job itself writes the evidence: each attempt appends its start (with a timestamp and its pid) to a
// log, checks whether any process of an earlier attempt is still alive, and (first attempt only) leaves a
// grandchild running, as a real script that starts a server or a long pipe would.

const ATTEMPT = `#!/bin/sh
first=yes
grep -q '^start' "$LOG" 2>/dev/null && first=
echo "start $(date +%s%N) $$" >> "$LOG"
for pid in $(sed -n 's/^pids //p' "$LOG"); do kill -0 "$pid" 2>/dev/null && echo "alive $pid" >> "$LOG"; done
if [ -n "$first" ]; then
  sleep 1000 &
  echo "pids $$ $!" >> "$LOG"
  wait
fi
echo "end $(date +%s%N) $$" >> "$LOG"
`;

let box: Sandbox;
afterAll(() => box?.remove());

test("SIGKILL of the daemon mid-job: no process of attempt 1 survives, and attempt 2 starts only after they are gone", async () => {
  box = await sandbox();
  box.write(
    "flywheel.yaml",
    `db: { sqlite: ./fw.db }
runtime:
  http_addr: off
  lease: 2s
  poll_interval: 50ms
  retry_backoff: { base: 50ms, cap: 100ms }
  kill_grace: 500ms
log: { format: json }
`,
  );
  const script = box.write("attempt.sh", ATTEMPT);
  const log = join(box.dir, "attempts.log");
  const enqueued = await cli(box, ["enqueue", "shell", JSON.stringify({ script, env: { LOG: log } })]);
  expect(enqueued.code).toBe(0);
  const id = enqueued.stdout.trim();

  const first = serve(box, []);
  const pids = await eventually("attempt 1 to leave its grandchild", () => readLog(log).find((l) => l[0] === "pids"));
  const attempt1 = pids.slice(1).map(Number);
  expect(attempt1.every((pid) => !processGone(pid))).toBe(true);
  first.proc.kill("SIGKILL");
  await first.proc.exited;
  // No exit hook runs on SIGKILL: the daemon's watchdog ends the group (SIGTERM, then SIGKILL after 500 ms).
  for (const pid of attempt1) await eventually(`attempt 1's process ${pid} to be gone`, () => processGone(pid), 5_000);

  // The lease of the dead daemon expires; a new daemon sweeps at start and runs attempt 2.
  const fw = await openDb(join(box.dir, "fw.db"));
  try {
    const leasedUntil = (await fw.findJob(id)).leasedUntil!.getTime();
    await eventually("the dead daemon's lease to expire", () => Date.now() > leasedUntil, 10_000, 50);
    const second = serve(box, []);
    await eventually("attempt 2 to succeed", async () => (await fw.findJob(id)).state === "succeeded", 20_000, 50);
    expect(await second.stop("SIGTERM")).toBe(0);

    const lines = readLog(log);
    expect(lines.filter((l) => l[0] === "start")).toHaveLength(2);
    expect(lines.filter((l) => l[0] === "alive")).toEqual([]);
    // Attempt 1 never finished: it was killed with its daemon, not left running beside attempt 2.
    expect(lines.filter((l) => l[0] === "end").map((l) => l[2])).toEqual([lines.filter((l) => l[0] === "start")[1]![2]]);
    const starts = lines.filter((l) => l[0] === "start").map((l) => BigInt(l[1]!));
    expect(starts[1]! > starts[0]!).toBe(true);
    expect((await fw.listRuns(id)).map((r) => [r.outcome, r.errorClass])).toEqual([
      ["crashed", "crashed"],
      ["success", null],
    ]);
  } finally {
    await fw.close();
  }
}, 60_000);

function readLog(path: string): string[][] {
  try {
    return readFileSync(path, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(" "));
  } catch {
    return [];
  }
}
