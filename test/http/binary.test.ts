// The compiled binary serves the dashboard and the API (SPEC §13, §19): its assets are bundled into it at build
// time, so it needs no file on disk and runs from any directory.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { assetName, hostPlatform } from "../../src/update/platform.ts";
import { eventually } from "../support/helpers.ts";

const REPO = resolve(import.meta.dir, "..", "..");
const VERSION = "0.0.9-dashboard";
let root: string;
let bin: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "flywheel-dashboard-bin-"));
  const build = Bun.spawn([process.execPath, "build.ts", "--target", "host", "--outdir", root, "--version-override", VERSION], {
    cwd: REPO,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [err, code] = await Promise.all([new Response(build.stderr).text(), build.exited]);
  if (code !== 0) throw new Error(`build.ts failed (${code}): ${err}`);
  bin = join(root, assetName(VERSION, hostPlatform()!));
}, 120_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

test("the compiled binary serves the dashboard page, its script and style, and the API", async () => {
  const dir = mkdtempSync(join(tmpdir(), "flywheel-dashboard-run-"));
  writeFileSync(join(dir, "flywheel.yaml"), `db: { sqlite: ./fw.db }\nruntime: { http_addr: "127.0.0.1:0" }\nlog: { format: json }\n`);
  const proc = Bun.spawn([bin, "serve"], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, XDG_STATE_HOME: dir, XDG_CACHE_HOME: dir, FLYWHEEL_NO_UPDATE_CHECK: "1" },
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  let log = "";
  void (async () => {
    for await (const chunk of proc.stderr) log += new TextDecoder().decode(chunk);
  })();
  try {
    const started = await eventually("the node to start", () => {
      if (proc.exitCode !== null) throw new Error(`serve exited ${proc.exitCode}: ${log}`);
      return log.split("\n").map((l) => (l.startsWith("{") ? JSON.parse(l) : null)).find((l) => l?.msg === "flywheel: node started");
    });
    const url = String(started.http).replace(/\/$/, "");
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("<title>flywheel</title>");
    const assets = [...html.matchAll(/(?:src|href)="(\/[^"]+\.(js|css))"/g)].map((m) => m[1]!);
    expect(assets.some((a) => a.endsWith(".js"))).toBe(true);
    expect(assets.some((a) => a.endsWith(".css"))).toBe(true);
    for (const asset of assets) {
      const res = await fetch(`${url}${asset}`);
      expect(res.status).toBe(200);
      const body = await res.text();
      if (asset.endsWith(".js")) {
        expect(body).toContain("/api/v1/overview");
        // Keep the shipped script small: Preact and the views, minified (about 38 KB, 13 KB gzipped, today).
        expect(body.length).toBeLessThan(80_000);
      }
    }
    const nodes = (await (await fetch(`${url}/api/v1/nodes`)).json()) as any;
    expect(nodes.nodes[0].version).toBe(VERSION);
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
