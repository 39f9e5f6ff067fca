import { describe, expect, test } from "bun:test";
import { COMMAND_KINDS, commandRequirements, commandWorkers, validateCommandArgs } from "../../src/workers/index.ts";

describe("commandWorkers", () => {
  test("returns one worker per command kind, each with an args schema", () => {
    const workers = commandWorkers({ maxOutputBytes: 1024 });
    expect(workers.map((w) => w.kind)).toEqual([...COMMAND_KINDS]);
    for (const worker of workers) expect(worker.args).toBeDefined();
  });

  test("rejects a negative option at construction", () => {
    expect(() => commandWorkers({ killGraceMs: -1 })).toThrow("killGraceMs");
  });
});

describe("commandRequirements", () => {
  test("names the binaries each kind needs", () => {
    expect(commandRequirements("exec", { command: "pg_dump" })).toEqual(["pg_dump"]);
    expect(commandRequirements("shell", { inline: "true" })).toEqual(["sh"]);
    expect(commandRequirements("shell", { inline: "true", shell: "bash" })).toEqual(["bash"]);
    expect(commandRequirements("python", { inline: "pass", interpreter: "python3.12" })).toEqual(["python3.12"]);
    expect(commandRequirements("mage", { targets: ["x"], binary: "mage" })).toEqual(["mage"]);
    expect(commandRequirements("http", { url: "http://127.0.0.1/" })).toEqual([]);
    expect(commandRequirements("send_email", {})).toEqual([]);
  });

  test("defaults with a fallback pick whichever the host has", () => {
    const python = Bun.which("python3") ? "python3" : Bun.which("python") ? "python" : "python3";
    expect(commandRequirements("python", { module: "m" })).toEqual([python]);
    expect(commandRequirements("mage", { targets: ["x"] })).toEqual([Bun.which("magex") || !Bun.which("mage") ? "magex" : "mage"]);
  });

  test("tolerates invalid args", () => {
    expect(commandRequirements("exec", null)).toEqual([]);
    expect(commandRequirements("shell", { shell: 42 })).toEqual(["sh"]);
  });
});

describe("validateCommandArgs", () => {
  test("valid args have no issues", () => {
    expect(validateCommandArgs("shell", { script: "./maint.sh", timeout_seconds: 600 })).toEqual([]);
  });

  test("issues name the key", () => {
    const issues = validateCommandArgs("shell", { scrpt: "./maint.sh", timeout_seconds: "600" });
    expect(issues.map((i) => i.path).sort()).toEqual(["scrpt", "timeout_seconds"]);
    expect(issues.every((i) => i.message.length > 0)).toBe(true);
  });

  test("an object-level rule has an empty path and a message naming the keys", () => {
    expect(validateCommandArgs("shell", { script: "a.sh", inline: "true" })).toEqual([{ path: "", message: "shell: give exactly one of script or inline" }]);
  });

  test("an unknown kind is one issue", () => {
    expect(validateCommandArgs("perl", {})).toEqual([{ path: "", message: expect.stringContaining('unknown command worker kind "perl"') }]);
  });
});
