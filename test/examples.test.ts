import { expect, test } from "bun:test";
import { join } from "node:path";
import { tempDir } from "./support/helpers.ts";

test("the README's library example runs as written and records its run", async () => {
  const dir = await tempDir();
  try {
    const proc = Bun.spawn([process.execPath, join(import.meta.dir, "../examples/library.ts")], {
      cwd: join(import.meta.dir, ".."),
      env: { ...process.env, FLYWHEEL_DB: `sqlite:${join(dir.path, "app.db")}` },
      stdout: "pipe",
      stderr: "pipe",
      stdin: "ignore",
    });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ state: "succeeded", outcome: "success", output: { summary: "summary of 42" }, costMicros: 1200 });
  } finally {
    await dir.remove();
  }
});

test("the README's workflow example runs as written: the saga waits for its approval, then charges and ships", async () => {
  const dir = await tempDir();
  try {
    const proc = Bun.spawn([process.execPath, join(import.meta.dir, "../examples/workflow.ts")], {
      cwd: join(import.meta.dir, ".."),
      env: { ...process.env, FLYWHEEL_DB: `sqlite:${join(dir.path, "app.db")}` },
      stdout: "pipe",
      stderr: "pipe",
      stdin: "ignore",
    });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ status: "shipped", steps: ["reserve-stock", "event:approval", "charge", "ship"] });
  } finally {
    await dir.remove();
  }
});
