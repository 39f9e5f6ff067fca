/** Running one benchmark process and reading its result line, for the scripts that order several. */
import { appendFileSync } from "node:fs";
import { loadavg } from "node:os";
import postgres from "postgres";
import { MARK, type Result } from "./harness.ts";

/**
 * Runs `bun <script> <args…>` with `NODE_ENV=production`, kills it after `timeoutMs`, appends its stderr to `logPath`
 * and returns its `@@BENCH@@` result (a failed one, saying why, when it printed none).
 */
export async function runResultProcess(script: string, args: string[], o: { cwd: string; logPath: string; timeoutMs: number; label: string }): Promise<Result> {
  const proc = Bun.spawn([process.execPath, script, ...args], {
    cwd: o.cwd,
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
    env: { ...process.env, NODE_ENV: "production" },
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), o.timeoutMs);
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  if (err.trim()) appendFileSync(o.logPath, `--- ${o.label}\n${err}\n`);
  const line = out.split("\n").find((l) => l.startsWith(MARK));
  if (!line) {
    const why = proc.signalCode ? `killed (${proc.signalCode}) after ${o.timeoutMs / 1000} s` : `no result line (exit ${proc.exitCode}); see ${o.logPath}`;
    return { system: o.label, workload: args[0] ?? "", ok: false, metrics: {}, error: why };
  }
  return JSON.parse(line.slice(MARK.length + 1)) as Result;
}

/** `CHECKPOINT` on the server, so one measurement's dirty pages do not land in the next (ignored when not allowed). */
export async function pgCheckpoint(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`CHECKPOINT`;
  } catch {
    // Not superuser: the measurement just carries a little more noise.
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** The 1, 5 and 15 minute load averages as `uptime` prints them, for the report: the machine is shared. */
export function loadLine(): string {
  return loadavg().map((v) => v.toFixed(2)).join(", ");
}
