import { afterAll, beforeAll, expect, test } from "bun:test";
import { hostname } from "node:os";
import { join } from "node:path";
import { cli, cliJson, openDb, sandbox, serve, type Sandbox, type Serve } from "./helpers.ts";

// SPEC §21: two daemons with different configs share one SQLite file. Each reconciles only the schedules its
// own config (`runtime.instance`) saved, never the other's, and says so when the other's are active. The tests
// start several daemons one after another, hence their timeouts above Bun's 5 s default.

let box: Sandbox;
let dbPath: string;
const running: Serve[] = [];

beforeAll(async () => {
  box = await sandbox();
  dbPath = join(box.dir, "shared.db");
});
afterAll(async () => {
  for (const daemon of running) await daemon.stop("SIGKILL");
  await box.remove();
});

const schedule = (slug: string) => `  - { slug: ${slug}, every: 1h, worker: shell, shell: { inline: "echo ${slug}" } }\n`;

/** A config on the SQLite file `db` in the sandbox; `runtime` is added inside `runtime: { … }`. */
function writeConfig(name: string, runtime: string, slugs: string[], db = "shared.db"): string {
  return box.write(
    `${name}/flywheel.yaml`,
    `db: { sqlite: ../${db} }\nruntime: { http_addr: off${runtime} }\nlog: { format: json }\nschedules:\n${slugs.map(schedule).join("")}`,
  );
}

/** Starts serve on `config` and resolves with it and its `schedules reconciled` line once the node runs. */
async function start(config: string): Promise<{ daemon: Serve; reconciled: Record<string, any> }> {
  const daemon = serve(box, ["--config", config]);
  running.push(daemon);
  const reconciled = await daemon.waitForLog("schedules reconciled", (l) => l.msg === "flywheel: schedules reconciled");
  await daemon.waitForLog("node started", (l) => l.msg === "flywheel: node started");
  return { daemon, reconciled };
}

/** `schedule ls --json` through `config`, by slug. */
const schedulesBySlug = async (config: string) => Object.fromEntries((await cliJson(box, ["schedule", "ls", "--config", config])).map((p: any) => [p.slug, p]));

const OTHERS = "flywheel: schedules of another config are active on this database; this daemon leaves them alone";
const LEGACY = "(unknown: saved before runtime.instance)";

test("two daemons with different configs on one database never deactivate each other's schedules", async () => {
  // Two periodics saved by a config before instances existed: one B's config defines, one nobody's does.
  const fw = await openDb(dbPath);
  try {
    await fw.migrate();
    for (const slug of ["legacy-taken", "legacy-kept"]) {
      await fw.upsertPeriodic({ slug, kind: "shell", every: "1h", args: { inline: "echo legacy" }, source: "config" });
    }
  } finally {
    await fw.close();
  }
  const configA = writeConfig("a", "", ["a-one", "a-two"]);
  const configB = writeConfig("b", ", instance: b-node", ["b-one", "b-two", "legacy-taken"]);
  const instanceA = `${hostname()}:${configA}`;

  const a = await start(configA);
  expect(a.reconciled).toMatchObject({ instance: instanceA, upserted: 2 });
  expect(a.reconciled.deactivated).toBeUndefined();
  expect(a.daemon.logs.find((l) => l.msg === OTHERS)).toMatchObject({ level: "warn", others: { [LEGACY]: ["legacy-kept", "legacy-taken"] } });

  // B starts while A runs: A's schedules stay active, and B names them with A's instance.
  const b = await start(configB);
  expect(b.reconciled).toMatchObject({ instance: "b-node", upserted: 3 });
  expect(b.reconciled.deactivated).toBeUndefined();
  expect(b.daemon.logs.filter((l) => l.level === "warn")).toEqual([
    expect.objectContaining({ msg: OTHERS, instance: "b-node", others: { [instanceA]: ["a-one", "a-two"], [LEGACY]: ["legacy-kept"] } }),
  ]);
  let all = await schedulesBySlug(configB);
  expect(Object.keys(all).sort()).toEqual(["a-one", "a-two", "b-one", "b-two", "legacy-kept", "legacy-taken"]);
  for (const slug of ["a-one", "a-two"]) expect(all[slug]).toMatchObject({ source: "config", config_instance: instanceA, active: true });
  for (const slug of ["b-one", "b-two", "legacy-taken"]) expect(all[slug]).toMatchObject({ source: "config", config_instance: "b-node", active: true });
  expect(all["legacy-kept"]).toMatchObject({ source: "config", config_instance: null, active: true });

  const table = await cli(box, ["schedule", "ls", "--config", configB]);
  expect(table.stdout).toMatch(new RegExp(`^a-one .* config \\(${escape(instanceA)}\\)$`, "m"));
  expect(table.stdout).toMatch(/^b-one .* config \(b-node\)$/m);
  expect(table.stdout).toMatch(/^legacy-kept .* config$/m);

  // B drops b-two and restarts: only b-two is deactivated.
  expect(await b.daemon.stop("SIGTERM")).toBe(0);
  writeConfig("b", ", instance: b-node", ["b-one", "legacy-taken"]);
  const again = await start(configB);
  expect(again.reconciled).toMatchObject({ instance: "b-node", upserted: 2, deactivated: ["b-two"] });
  all = await schedulesBySlug(configB);
  expect(all["b-two"].active).toBe(false);
  for (const slug of ["a-one", "a-two", "b-one", "legacy-taken", "legacy-kept"]) expect(all[slug].active).toBe(true);

  expect(await again.daemon.stop("SIGTERM")).toBe(0);
  expect(await a.daemon.stop("SIGTERM")).toBe(0);
}, 60_000);

test("a config that defines another instance's slug takes it over and says so", async () => {
  const configD = writeConfig("d", ", instance: d-node", ["shared-slug"], "takeover.db");
  const configE = writeConfig("e", ", instance: e-node", ["shared-slug"], "takeover.db");
  const d = await start(configD);
  expect(await d.daemon.stop("SIGTERM")).toBe(0);
  const e = await start(configE);
  expect(e.daemon.logs.filter((l) => l.level === "warn")).toEqual([
    expect.objectContaining({ msg: expect.stringMatching(/^flywheel: this config took over schedules/), instance: "e-node", taken_over: { "d-node": ["shared-slug"] } }),
  ]);
  expect(await e.daemon.stop("SIGTERM")).toBe(0);
  expect((await schedulesBySlug(configE))["shared-slug"]).toMatchObject({ config_instance: "e-node", active: true });
}, 30_000);

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
