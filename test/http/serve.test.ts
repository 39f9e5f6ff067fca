// `flywheel serve` and the `http:` config keys (SPEC §19, §12): the API and dashboard on by default on the
// loopback address, off on request, writes with a token from the config or FLYWHEEL_API_TOKEN, and a
// non-loopback address without a token refused at start with exit 2 and one line.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ConfigError, parseConfig } from "../../src/daemon/index.ts";
import { cli, sandbox, serve, type Sandbox } from "../cli/helpers.ts";

const TOKEN = "serve-token-0123456789abcdef";
let box: Sandbox;

beforeEach(async () => {
  box = await sandbox();
});

afterEach(() => box.remove());

function config(extra = ""): string {
  return box.write("flywheel.yaml", `db: { sqlite: ./fw.db }\nruntime: { http_addr: "127.0.0.1:0", poll_interval: 20ms }\nlog: { format: json }\n${extra}`);
}

describe("flywheel serve", () => {
  test("serves the API and the dashboard by default; a token from FLYWHEEL_API_TOKEN allows writes", async () => {
    config();
    const daemon = serve(box, [], { env: { FLYWHEEL_API_TOKEN: TOKEN } });
    try {
      const url = (await daemon.url()).replace(/\/$/, "");
      const overview = await fetch(`${url}/api/v1/overview`);
      expect(overview.status).toBe(200);
      expect(((await overview.json()) as any).node.writable).toBe(true);
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("<title>flywheel</title>");
      const enqueued = await fetch(`${url}/api/v1/jobs`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ kind: "shell", args: { inline: "echo from-api" } }),
      });
      expect(enqueued.status).toBe(201);
      const { job } = (await enqueued.json()) as any;
      await daemon.waitForLog("the job to succeed", (l) => l.job_id === job.id && l.msg === "jobs: job succeeded");
      const detail = (await (await fetch(`${url}/api/v1/jobs/${job.id}`)).json()) as any;
      expect(detail.runs[0].output.stdout).toBe("from-api\n");
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  });

  test("http: { api: false, dashboard: false } leaves /healthz and /metrics alone and serves neither", async () => {
    config("http: { api: false, dashboard: false }\n");
    const daemon = serve(box, []);
    try {
      const url = (await daemon.url()).replace(/\/$/, "");
      expect((await fetch(`${url}/api/v1/overview`)).status).toBe(404);
      expect((await fetch(`${url}/`)).status).toBe(404);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  });

  test("a non-loopback address without a token exits 2 with one line, before touching the database", async () => {
    config();
    const result = await cli(box, ["serve", "--http-addr", "0.0.0.0:0"]);
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("which is not a loopback address, without a token");
    expect(lines[0]).toContain("http.api_token");
    expect(await Bun.file(join(box.dir, "fw.db")).exists()).toBe(false);
  });
});

describe("the http: config keys", () => {
  const parse = (text: string, env: Record<string, string> = {}) => parseConfig(text, { file: "/etc/flywheel/flywheel.yaml", env });

  test("defaults: API and dashboard on, no token; the token comes from the file, else the environment", () => {
    expect(parse("{}").http).toEqual({ api: true, dashboard: true, apiToken: null });
    expect(parse("{}", { FLYWHEEL_API_TOKEN: TOKEN }).http.apiToken).toBe(TOKEN);
    expect(parse(`http: { api_token: "${TOKEN}x" }`, { FLYWHEEL_API_TOKEN: TOKEN }).http.apiToken).toBe(`${TOKEN}x`);
    expect(parse("http: { api: false, dashboard: false }").http).toEqual({ api: false, dashboard: false, apiToken: null });
  });

  test("a short token, the dashboard without the API, and an unknown key are config errors naming the key", () => {
    const issue = (text: string) => {
      try {
        parse(text);
        return null;
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
    };
    expect(issue('http: { api_token: "short" }')).toContain("http.api_token: expected at least 16 characters");
    expect(issue("http: { api: false }")).toContain("http.dashboard: the dashboard needs the API");
    expect(issue("http: { api: true, dashbord: false }")).toContain("http.dashbord");
  });
});
