import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { cli, sandbox, type Sandbox } from "./helpers.ts";

// A config that is not YAML is refused with the file, line and column of the break (Bun's parser reports none;
// the loader finds it), exit 2, before any database is touched.

let box: Sandbox;
beforeAll(async () => {
  box = await sandbox();
});
afterAll(() => box.remove());

const BROKEN: { name: string; yaml: string; line: number; column: number; says: string }[] = [
  { name: "a key indented past its siblings", yaml: "db: { sqlite: ./fw.db }\nruntime:\n  concurrency: 2\n   lease: 30s\n", line: 4, column: 9, says: "Unexpected token" },
  { name: "an unclosed flow list (points at its [)", yaml: "db: { sqlite: ./fw.db }\nruntime:\n  queues: [default, periodic\n  concurrency: 2\n", line: 3, column: 11, says: "Unexpected token" },
  { name: "a second colon on one line", yaml: "db: { sqlite: ./fw.db }\nlog: level: info\n", line: 2, column: 11, says: "Unexpected token" },
  { name: "a stray closing brace", yaml: "db: { sqlite: ./fw.db }}\n", line: 1, column: 24, says: "Unexpected token" },
  { name: "a tab as indentation", yaml: "db: { sqlite: ./fw.db }\nruntime:\n\tconcurrency: 2\n", line: 3, column: 1, says: "Tab characters cannot be used as indentation" },
  { name: "an alias never defined", yaml: "db: { sqlite: ./fw.db }\nruntime: *defaults\n", line: 2, column: 10, says: "Unresolved alias" },
];

describe("YAML syntax errors", () => {
  for (const c of BROKEN) {
    test(`${c.name}: file:line:column, exit 2, one line, no database`, async () => {
      const file = box.write(`${c.name.replace(/\W+/g, "-")}/flywheel.yaml`, c.yaml);
      const r = await cli(box, ["jobs", "ls", "--config", file]);
      expect(r).toEqual({ code: 2, stdout: "", stderr: `flywheel: ${file}:${c.line}:${c.column}: invalid YAML: ${c.says}\n` });
      expect(existsSync(join(file, "..", "fw.db"))).toBe(false);
    });
  }

  test("doctor reports the same position", async () => {
    const c = BROKEN[0]!;
    const file = box.write("doctor/flywheel.yaml", c.yaml);
    const r = await cli(box, ["doctor", "--config", file, "--json"]);
    expect(r.code).not.toBe(0);
    expect(JSON.parse(r.stdout).checks).toEqual([{ name: "config", status: "fail", detail: `${file}:4:9: invalid YAML: Unexpected token` }]);
  });
});
