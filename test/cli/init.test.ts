import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, sandbox, type Sandbox } from "./helpers.ts";

// `flywheel init` writes a starter config that the real loader accepts, and never replaces a file unasked.

let box: Sandbox;
beforeAll(async () => {
  box = await sandbox();
});
afterAll(() => box.remove());

describe("init", () => {
  test("writes ./flywheel.yaml that `flywheel doctor` (the real loader) accepts, creating no database", async () => {
    const cwd = join(box.dir, "fresh");
    mkdirSync(cwd);
    const r = await cli(box, ["init"], { cwd });
    expect(r.code).toBe(0);
    const file = join(cwd, "flywheel.yaml");
    expect(r.stdout).toBe(`wrote ${file}\nnext: flywheel doctor, then flywheel serve\n`);
    const text = readFileSync(file, "utf8");
    expect(text).toStartWith("# flywheel.yaml, written by `flywheel init`");
    const doctor = await cli(box, ["doctor", "--json"], { cwd });
    expect(doctor.stderr).toBe("");
    expect(doctor.code).toBe(0);
    const report = JSON.parse(doctor.stdout);
    expect(report.checks.find((c: { name: string }) => c.name === "config")).toMatchObject({ status: "ok", detail: `${file} (0 schedules)` });
    expect(report.settings.db.sqlite).toBe(join(cwd, "flywheel.db"));
    expect(report.settings.runtime.retention).toBe("14d");
    expect(existsSync(join(cwd, "flywheel.db"))).toBe(false);
  });

  test("its commented schedule example is valid too once uncommented", async () => {
    const cwd = join(box.dir, "uncommented");
    mkdirSync(cwd);
    expect((await cli(box, ["init"], { cwd })).code).toBe(0);
    const file = join(cwd, "flywheel.yaml");
    const lines = readFileSync(file, "utf8").split("\n");
    const from = lines.indexOf("# schedules:");
    expect(from).toBeGreaterThan(0);
    writeFileSync(file, [...lines.slice(0, from), ...lines.slice(from).map((l) => l.replace(/^# /, ""))].join("\n"));
    const doctor = await cli(box, ["doctor", "--json"], { cwd });
    expect(doctor.code).toBe(0);
    const report = JSON.parse(doctor.stdout);
    expect(report.checks.find((c: { name: string }) => c.name === "config").detail).toBe(`${file} (1 schedule)`);
    expect(report.settings.schedules).toEqual(["hello"]);
  });

  test("refuses to overwrite without --force: exit 1, one line, file untouched; --force replaces it", async () => {
    const file = box.write("taken/flywheel.yaml", "db: { sqlite: ./mine.db }\n");
    const refused = await cli(box, ["init", file]);
    expect(refused).toEqual({ code: 1, stdout: "", stderr: `flywheel: ${file} already exists; use --force to overwrite it\n` });
    expect(readFileSync(file, "utf8")).toBe("db: { sqlite: ./mine.db }\n");
    const forced = await cli(box, ["init", file, "--force"]);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toBe(`wrote ${file}\nnext: flywheel doctor --config ${file}, then flywheel serve --config ${file}\n`);
    expect(readFileSync(file, "utf8")).toStartWith("# flywheel.yaml, written by `flywheel init`");
  });

  test("a directory gets flywheel.yaml inside it; any other path is the file itself", async () => {
    mkdirSync(join(box.dir, "etc"));
    expect((await cli(box, ["init", "etc"])).code).toBe(0);
    expect(existsSync(join(box.dir, "etc", "flywheel.yaml"))).toBe(true);
    expect((await cli(box, ["init", "ops.yaml"])).code).toBe(0);
    const doctor = await cli(box, ["doctor", "--config", "ops.yaml"]);
    expect(doctor.code).toBe(0);
    expect(doctor.stdout).toContain(`ok    config    ${join(box.dir, "ops.yaml")} (0 schedules)`);
  });
});
