import { afterAll, describe, expect, test } from "bun:test";
import * as v from "valibot";
import { httpWorker, type HttpOutput } from "../../src/workers/http.ts";
import { work, workError } from "./helpers.ts";

const hung: (() => void)[] = [];
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/ok") return new Response("hello", { headers: { "content-type": "text/plain", "x-ignored": "1" } });
    if (url.pathname === "/echo") {
      const echo = { method: request.method, contentType: request.headers.get("content-type"), token: request.headers.get("x-token"), body: await request.text() };
      return Response.json(echo, { status: 201 });
    }
    if (url.pathname === "/big") return new Response("a".repeat(50) + "b".repeat(10_000));
    if (url.pathname === "/hang") return new Promise<Response>((resolve) => hung.push(() => resolve(new Response("late"))));
    const status = Number(url.pathname.slice(1));
    return new Response(`status ${status}`, { status, headers: status === 429 ? { "retry-after": "7" } : {} });
  },
});
const base = `http://127.0.0.1:${server.port}`;
afterAll(() => {
  for (const release of hung) release();
  server.stop(true);
});

describe("http worker", () => {
  const http = httpWorker();

  test("a 200 succeeds with status, kept headers and body", async () => {
    const result = await work(http, { url: `${base}/ok` });
    const output = result.output as HttpOutput;
    expect(output).toMatchObject({ status: 200, body: "hello", body_truncated: false, url: `${base}/ok`, method: "GET" });
    expect(output.headers).toEqual({ "content-type": "text/plain", "content-length": "5" });
  });

  test("a JSON body is sent as JSON with its content type, alongside custom headers", async () => {
    const result = await work(http, { url: `${base}/echo`, method: "post", headers: { "x-token": "t1" }, body: { run: 1, tags: ["a"] } });
    const output = result.output as HttpOutput;
    expect(output.status).toBe(201);
    expect(JSON.parse(output.body)).toEqual({ method: "POST", contentType: "application/json", token: "t1", body: '{"run":1,"tags":["a"]}' });
  });

  test("a string body is sent as is", async () => {
    const result = await work(http, { url: `${base}/echo`, method: "PUT", body: "plain text" });
    expect(JSON.parse((result.output as HttpOutput).body)).toMatchObject({ method: "PUT", body: "plain text" });
  });

  test("503 is transient", async () => {
    const error = await workError(http, { url: `${base}/503` });
    expect(error.errorClass).toBe("transient");
    expect(error.message).toBe(`GET ${base}/503: status 503`);
    expect(error.output).toMatchObject({ status: 503, body: "status 503" });
  });

  test("429 is transient and keeps retry-after", async () => {
    const error = await workError(http, { url: `${base}/429` });
    expect(error.errorClass).toBe("transient");
    expect((error.output as HttpOutput).headers["retry-after"]).toBe("7");
  });

  test("404 is permanent", async () => {
    const error = await workError(http, { url: `${base}/404` });
    expect(error.errorClass).toBe("permanent");
    expect((error.output as HttpOutput).status).toBe(404);
  });

  test("success_status replaces the 2xx default", async () => {
    const result = await work(http, { url: `${base}/404`, success_status: [404] });
    expect((result.output as HttpOutput).status).toBe(404);
    const error = await workError(http, { url: `${base}/ok`, success_status: [204] });
    expect(error.errorClass).toBe("permanent");
  });

  test("a network error (closed port) is transient", async () => {
    const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const url = `http://127.0.0.1:${closed.port}/`;
    await closed.stop(true);
    const error = await workError(http, { url });
    expect(error.errorClass).toBe("transient");
    expect(error.output).toMatchObject({ status: null, url });
  });

  test("the body is capped at maxOutputBytes, keeping its head", async () => {
    const result = await work(httpWorker({ maxOutputBytes: 60 }), { url: `${base}/big` });
    const output = result.output as HttpOutput;
    expect(output.body_truncated).toBe(true);
    expect(output.body).toBe("a".repeat(50) + "b".repeat(10));
  });

  test("timeout_seconds expiring is a timeout", async () => {
    const error = await workError(http, { url: `${base}/hang`, timeout_seconds: 0.1 });
    expect(error.errorClass).toBe("timeout");
    expect(error.message).toContain("timed out after 0.1s");
  });

  test("job.signal aborting is transient, or a timeout when its reason is a TimeoutError", async () => {
    const cancel = new AbortController();
    const cancelled = workError(http, { url: `${base}/hang` }, cancel.signal);
    await Promise.resolve();
    cancel.abort(new Error("cancelled"));
    expect((await cancelled).errorClass).toBe("transient");

    const deadline = new AbortController();
    const timedOut = workError(http, { url: `${base}/hang` }, deadline.signal);
    deadline.abort(new DOMException("deadline", "TimeoutError"));
    expect((await timedOut).errorClass).toBe("timeout");
  });

  test("the schema rejects unknown keys, bodies on GET and non-http URLs", () => {
    const typo = v.safeParse(http.args!, { url: `${base}/ok`, header: {} });
    expect(typo.issues?.map((issue) => v.getDotPath(issue))).toEqual(["header"]);
    const getBody = v.safeParse(http.args!, { url: `${base}/ok`, body: { a: 1 } });
    expect(getBody.issues?.map((issue) => v.getDotPath(issue))).toEqual(["body"]);
    expect(v.safeParse(http.args!, { url: "file:///etc/passwd" }).success).toBe(false);
  });
});
