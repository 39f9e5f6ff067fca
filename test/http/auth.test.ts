// Who may call the API and what it refuses (SPEC §19, §14 "bad input never loses data"): tokens, origins,
// content types, body sizes, malformed JSON, unknown paths.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { FlywheelError, Node } from "../../src/index.ts";
import { RequestGuard } from "../../src/http/guard.ts";
import { controlPlaneSettings } from "../../src/http/options.ts";
import { startNode, TOKEN, type TestNode } from "./helpers.ts";

let node: TestNode;

beforeAll(async () => {
  node = await startNode({ runners: false });
});

afterAll(() => node.stop());

const enqueue = { kind: "echo", args: { n: 1 } };

describe("tokens", () => {
  test("a write without a token, or with a wrong one, is 401 and writes nothing", async () => {
    for (const token of [null, "wrong-token-0123456789abcdef", TOKEN.slice(0, -1) + "x", "short"]) {
      const res = await node.call("/api/v1/jobs", { body: enqueue, token });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
      expect(((await res.json()) as any).error.code).toBe("unauthorized");
    }
    const malformed = await node.call("/api/v1/jobs", { body: enqueue, token: null, headers: { authorization: `Basic ${TOKEN}` } });
    expect(malformed.status).toBe(401);
    expect(await node.fw.listJobs({ kind: "echo" })).toEqual([]);
  });

  test("reads from loopback need no token; a wrong token is refused even for a read", async () => {
    expect((await node.call("/api/v1/overview", { token: null })).status).toBe(200);
    expect((await node.call("/api/v1/jobs", { token: "wrong-token-0123456789abcdef" })).status).toBe(401);
    expect((await node.call("/api/v1/jobs", { token: TOKEN })).status).toBe(200);
  });

  test("a token-less read naming another host (a DNS-rebound page) is 401", async () => {
    const res = await node.call("/api/v1/jobs", { token: null, headers: { host: "attacker.example:80" } });
    expect(res.status).toBe(401);
  });

  test("reads from a non-loopback address need the token", () => {
    const guard = new RequestGuard(TOKEN);
    const url = new URL("http://10.0.0.5:7741/api/v1/jobs");
    const read = (headers: Record<string, string>) => () => guard.check({ request: new Request(url.href, { headers }), url, peer: "10.0.0.9", write: false });
    expect(read({})).toThrow("reads from another host");
    expect(read({ authorization: `Bearer ${TOKEN}` })).not.toThrow();
    const local = new URL("http://127.0.0.1:7741/api/v1/jobs");
    expect(() => guard.check({ request: new Request(local.href), url: local, peer: "::ffff:127.0.0.1", write: false })).not.toThrow();
  });

  test("a server without a token is read-only and says why", async () => {
    const readOnly = await startNode({ runners: false, http: { apiToken: undefined } });
    try {
      const res = await readOnly.json("/api/v1/jobs", { body: enqueue, token: null });
      expect(res.status).toBe(401);
      expect(res.body.error.message).toContain("read-only");
      expect((await readOnly.json("/api/v1/overview", { token: null })).body.node.writable).toBe(false);
    } finally {
      await readOnly.stop();
    }
  });

  test("a non-loopback address without a token, a short token, or the dashboard without the API is refused at construction", () => {
    const refused = (hostname: string, options: Parameters<typeof controlPlaneSettings>[1]) => {
      try {
        controlPlaneSettings(hostname, options);
        return null;
      } catch (error) {
        expect(error).toBeInstanceOf(FlywheelError);
        expect((error as FlywheelError).code).toBe("config_invalid");
        return (error as Error).message;
      }
    };
    expect(refused("0.0.0.0", {})).toContain("not a loopback address");
    expect(refused("::", { api: true, dashboard: false })).toContain("without a token");
    expect(refused("0.0.0.0", { apiToken: TOKEN })).toBeNull();
    expect(refused("0.0.0.0", { api: false, dashboard: false })).toBeNull();
    expect(refused("127.0.0.1", {})).toBeNull();
    expect(refused("localhost", {})).toBeNull();
    expect(refused("[::1]", {})).toBeNull();
    expect(refused("127.0.0.1", { apiToken: "short" })).toContain("too short");
    expect(refused("127.0.0.1", { api: false })).toContain("needs http.api");
    expect(() => new Node(node.fw.runtime, node.fw.metrics, { runners: [], http: { hostname: "0.0.0.0", port: 0 } }, node.fw)).toThrow("not a loopback address");
  });
});

describe("what a web page could send", () => {
  test("a foreign Origin is 403, for writes and reads; this server's own origin is accepted", async () => {
    for (const path of ["/api/v1/jobs", "/api/v1/overview"]) {
      const res = await node.call(path, { body: path === "/api/v1/jobs" ? enqueue : undefined, headers: { origin: "https://evil.example" } });
      expect(res.status).toBe(403);
      expect(((await res.json()) as any).error.code).toBe("forbidden");
    }
    expect((await node.call("/api/v1/overview", { headers: { origin: "null" } })).status).toBe(403);
    const own = await node.call("/api/v1/jobs", { body: { ...enqueue, options: { delay: "1h" } }, headers: { origin: node.url } });
    expect(own.status).toBe(201);
  });

  test("form and text content types are 415, with or without a token", async () => {
    for (const type of ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain"]) {
      for (const token of [TOKEN, null]) {
        const res = await node.call("/api/v1/jobs", { body: "kind=echo", token, headers: { "content-type": type } });
        expect(res.status).toBe(415);
        expect(((await res.json()) as any).error.code).toBe("unsupported_media_type");
      }
    }
    const untyped = await fetch(`${node.url}/api/v1/schedules/x/pause`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "" }, body: "{}" });
    expect(untyped.status).toBe(415);
  });
});

describe("bad input", () => {
  test("a body over 1 MiB is 413, whether its length is declared or streamed", async () => {
    const big = JSON.stringify({ kind: "echo", args: { pad: "x".repeat(1_100_000) } });
    const declared = await node.call("/api/v1/jobs", { body: big });
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as any).error.code).toBe("payload_too_large");
    const bytes = new TextEncoder().encode(big);
    const streamed = await fetch(`${node.url}/api/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: new ReadableStream({
        start(controller) {
          for (let at = 0; at < bytes.length; at += 65_536) controller.enqueue(bytes.slice(at, at + 65_536));
          controller.close();
        },
      }),
    });
    expect(streamed.status).toBe(413);
  });

  test("invalid JSON is 400; a body of the wrong shape is 422", async () => {
    const broken = await node.json("/api/v1/jobs", { body: '{"kind": "echo",' });
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe("invalid_json");
    const array = await node.json("/api/v1/jobs", { body: [1, 2] });
    expect(array.status).toBe(422);
    const empty = await node.json("/api/v1/jobs", { method: "POST" });
    expect(empty.status).toBe(422);
    const kindless = await node.json("/api/v1/jobs", { body: { args: {} } });
    expect(kindless.body.error.field).toBe("body.kind");
  });

  test("an unknown job is 404 for every job route", async () => {
    const missing = "01900000-0000-7000-8000-000000000000";
    for (const [method, path] of [
      ["GET", `/api/v1/jobs/${missing}`],
      ["POST", `/api/v1/jobs/${missing}/cancel`],
      ["POST", `/api/v1/jobs/${missing}/retry`],
      ["POST", `/api/v1/jobs/${missing}/events/go`],
    ] as const) {
      const res = await node.json(path, { method });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("job_not_found");
    }
    expect((await node.json("/api/v1/jobs/0190")).status).toBe(422);
  });

  test("an unknown endpoint is 404 and a known one under another method is 405, both JSON", async () => {
    const unknown = await node.json("/api/v1/nope");
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("not_found");
    const method = await node.json("/api/v1/overview", { method: "DELETE" });
    expect(method.status).toBe(405);
    expect(method.body.error.code).toBe("method_not_allowed");
  });
});
