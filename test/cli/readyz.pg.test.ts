import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { eventually } from "../support/helpers.ts";
import { PG_URL, pgAvailable, throwawaySchema, type ThrowawaySchema } from "../support/postgres.ts";
import { cli, sandbox, serve, type Sandbox, type Serve } from "./helpers.ts";

// /readyz must answer 503 when the database stops answering. The daemon reaches PostgreSQL through a TCP
// proxy owned by the test; closing the proxy cuts the database off from a live daemon, reliably and at once.

const skip = !(await pgAvailable());

describe.skipIf(skip)("flywheel serve on PostgreSQL", () => {
  let box: Sandbox;
  let schema: ThrowawaySchema;
  let proxy: Server;
  const sockets = new Set<Socket>();
  let daemon: Serve;
  let base: string;

  beforeAll(async () => {
    const upstream = new URL(PG_URL);
    proxy = createServer((client) => {
      const server = createConnection({ host: upstream.hostname, port: Number(upstream.port || 5432) });
      for (const s of [client, server]) {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
        s.on("error", () => {});
      }
      client.pipe(server).pipe(client);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const port = (proxy.address() as { port: number }).port;
    const url = new URL(PG_URL);
    url.hostname = "127.0.0.1";
    url.port = String(port);

    box = await sandbox();
    schema = throwawaySchema();
    box.write(
      "flywheel.yaml",
      `db: { postgres: "${url.href}", schema: ${schema.name} }
runtime: { http_addr: "127.0.0.1:0", poll_interval: 50ms }
log: { format: json }
`,
    );
    daemon = serve(box, []);
    base = await daemon.url();
  });

  afterAll(async () => {
    await daemon?.stop("SIGKILL");
    proxy?.close();
    for (const s of sockets) s.destroy();
    await schema?.drop();
    await box?.remove();
  });

  test("runs a job enqueued by the CLI", async () => {
    const enqueued = await cli(box, ["enqueue", "shell", '{"inline":"echo from-postgres"}']);
    expect(enqueued.code).toBe(0);
    const id = enqueued.stdout.trim();
    const inspected = await eventually("the job to succeed", async () => {
      const r = await cli(box, ["jobs", "inspect", id, "--json"]);
      const parsed = JSON.parse(r.stdout);
      return parsed.job.state === "succeeded" ? parsed : undefined;
    });
    expect(inspected.runs[0]).toMatchObject({ outcome: "success", output: { exit_code: 0, stdout: "from-postgres\n" } });
  });

  test("/readyz is 200 while the database answers and 503 once it does not; /healthz stays 200", async () => {
    expect((await fetch(`${base}readyz`)).status).toBe(200);
    proxy.close();
    for (const s of sockets) s.destroy();
    const down = await eventually("/readyz to turn 503", async () => {
      const res = await fetch(`${base}readyz`);
      return res.status === 503 ? res : undefined;
    });
    expect(await down.text()).toStartWith("not ready:");
    expect((await fetch(`${base}healthz`)).status).toBe(200);
  });
});
