import { afterEach, expect, test } from "bun:test";
import { join, resolve } from "node:path";
import { eventually, processGone } from "../support/helpers.ts";
import { cli, openDb, sandbox, type Sandbox } from "../cli/helpers.ts";

// `flywheel reload` signals only `flywheel serve`: SIGHUP ends a process that does not handle it, so a library
// app's node on the same database and host, listed in the same node registry, must never get one.

const INDEX = resolve(import.meta.dir, "../../src/index.ts");

let box: Sandbox | undefined;
let app: ReturnType<typeof Bun.spawn> | undefined;
afterEach(async () => {
  app?.kill("SIGKILL");
  await app?.exited;
  await box?.remove();
});

test("a library app's node in the registry is not signalled: reload finds no daemon, exits 1, and the app lives on", async () => {
  box = await sandbox();
  box.write("flywheel.yaml", "db: { sqlite: ./fw.db }\n");
  const db = join(box.dir, "fw.db");
  const script = box.write(
    "app.ts",
    `import { connect } from ${JSON.stringify(INDEX)};
const fw = await connect(${JSON.stringify(`sqlite:${db}`)});
await fw.migrate();
await fw.node({ runners: [{ queues: ["default"] }], scheduler: false, http: false }).run(new AbortController().signal);
`,
  );
  app = Bun.spawn([process.execPath, script], { cwd: box.dir, stdout: "ignore", stderr: "ignore" });
  const fw = await eventually("the app's database", async () => (await Bun.file(db).exists() ? openDb(db) : undefined));
  try {
    await eventually("the app's node row", async () => (await fw.listNodes().catch(() => [])).find((n) => n.pid === app!.pid), 15_000);
  } finally {
    await fw.close();
  }
  const result = await cli(box, ["reload"]);
  expect(result.code).toBe(1);
  expect(result.stderr).toBe(`flywheel: no flywheel serve is running on this host for ${db}\n`);
  expect(app.exitCode).toBeNull();
  expect(processGone(app.pid)).toBe(false);
});
