// The deployment files in contrib/ and the Dockerfile (issue #15): the systemd units carry the keys the docs
// promise (and pass `systemd-analyze verify` where it exists), their stop timeouts cover a drain, the container
// config is a valid flywheel.yaml, and the Dockerfile only copies what .dockerignore lets into the context.
// Docker itself is not run here; docs/INSTALL.md says the image is untested.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { COMMAND_WORKER_DEFAULTS, NODE_DEFAULTS } from "../../src/core/defaults.ts";
import { parseDuration } from "../../src/core/duration.ts";
import { parseConfig } from "../../src/daemon/config/index.ts";

const REPO = resolve(import.meta.dir, "..", "..");
const read = (path: string) => readFileSync(join(REPO, path), "utf8");

/** A unit file as `section → key → values` (a key may repeat); comments and blank lines dropped. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const eq = line.indexOf("=");
    if (!current || eq === -1) throw new Error(`not a unit file line: ${line}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

/** The single value of `key` in `[section]`; fails the test when it is missing or given twice. */
function one(unit: Map<string, Map<string, string[]>>, section: string, key: string): string {
  const values = unit.get(section)?.get(key);
  expect(values, `${section}.${key}`).toHaveLength(1);
  return values![0]!;
}

/** What a stop may take by default: the drain, then the job's SIGTERM → SIGKILL grace. */
const DRAIN_WORST_CASE_MS = NODE_DEFAULTS.drainTimeoutMs + COMMAND_WORKER_DEFAULTS.killGraceMs;

/**
 * `systemd-analyze verify` of `unitText` with ExecStart pointed at an executable that exists here (verify
 * refuses a missing binary, and no flywheel is installed on a test machine). `undefined` when the tool is absent.
 */
function systemdVerify(name: string, unitText: string, execStart: string): { code: number; output: string } | undefined {
  const tool = Bun.which("systemd-analyze");
  if (!tool) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "flywheel-unit-"));
  try {
    const path = join(dir, name);
    writeFileSync(path, unitText.replaceAll(execStart, process.execPath));
    const r = Bun.spawnSync([tool, "verify", path], { stdout: "pipe", stderr: "pipe", timeout: 30_000 });
    return { code: r.exitCode ?? -1, output: `${r.stdout.toString()}${r.stderr.toString()}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("contrib/flywheel-system.service", () => {
  const text = read("contrib/flywheel-system.service");
  const unit = parseUnit(text);

  test("runs as the flywheel user, sandboxed, writing only its state directory with a private umask", () => {
    expect(one(unit, "Service", "User")).toBe("flywheel");
    expect(one(unit, "Service", "ExecStart")).toBe("/usr/local/bin/flywheel serve --config /etc/flywheel/flywheel.yaml");
    expect(one(unit, "Service", "ProtectSystem")).toBe("strict");
    expect(one(unit, "Service", "ReadWritePaths")).toBe("/var/lib/flywheel");
    expect(one(unit, "Service", "StateDirectory")).toBe("flywheel");
    expect(one(unit, "Service", "UMask")).toBe("0077");
    expect(one(unit, "Service", "NoNewPrivileges")).toBe("yes");
    expect(one(unit, "Service", "PrivateTmp")).toBe("yes");
    // Bun's JIT writes code pages; this would kill the daemon at start.
    expect(unit.get("Service")!.has("MemoryDenyWriteExecute")).toBe(false);
    expect(one(unit, "Install", "WantedBy")).toBe("multi-user.target");
  });

  test("reload is SIGHUP; a stop gets SIGTERM and time for a whole drain; a config error is not restarted", () => {
    expect(one(unit, "Service", "ExecReload")).toBe("/bin/kill -HUP $MAINPID");
    expect(one(unit, "Service", "KillSignal")).toBe("SIGTERM");
    expect(parseDuration(one(unit, "Service", "TimeoutStopSec"))).toBeGreaterThan(DRAIN_WORST_CASE_MS);
    expect(one(unit, "Service", "RestartPreventExitStatus")).toBe("2");
  });

  test("systemd-analyze verify finds nothing to say (skipped where systemd is absent)", () => {
    const result = systemdVerify("flywheel.service", text, "/usr/local/bin/flywheel");
    if (!result) return console.warn("systemd-analyze not found: unit not verified by systemd");
    expect(result).toEqual({ code: 0, output: "" });
  });
});

describe("contrib/flywheel.service (user unit)", () => {
  const text = read("contrib/flywheel.service");
  const unit = parseUnit(text);

  test("reload is SIGHUP, a stop has time for a drain, files are private", () => {
    expect(one(unit, "Service", "ExecReload")).toBe("/bin/kill -HUP $MAINPID");
    expect(parseDuration(one(unit, "Service", "TimeoutStopSec"))).toBeGreaterThan(DRAIN_WORST_CASE_MS);
    expect(one(unit, "Service", "UMask")).toBe("0077");
    expect(one(unit, "Install", "WantedBy")).toBe("default.target");
  });

  test("systemd-analyze verify finds nothing to say (skipped where systemd is absent)", () => {
    const result = systemdVerify("flywheel.service", text, "%h/.local/bin/flywheel");
    if (!result) return console.warn("systemd-analyze not found: unit not verified by systemd");
    expect(result).toEqual({ code: 0, output: "" });
  });
});

describe("contrib/dev.flywheel.plist (launchd)", () => {
  test("ExitTimeOut leaves time for a whole drain", () => {
    const m = /<key>ExitTimeOut<\/key>\s*<integer>(\d+)<\/integer>/.exec(read("contrib/dev.flywheel.plist"));
    expect(Number(m?.[1]) * 1000).toBeGreaterThan(DRAIN_WORST_CASE_MS);
  });
});

describe("container", () => {
  const dockerfile = read("Dockerfile");
  /** Instructions with their arguments, continuation lines joined, comments dropped. */
  const instructions = dockerfile
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const space = l.indexOf(" ");
      return { op: l.slice(0, space).toUpperCase(), args: l.slice(space + 1).trim() };
    });
  const all = (op: string) => instructions.filter((i) => i.op === op).map((i) => i.args);
  const finalStage = instructions.slice(instructions.findLastIndex((i) => i.op === "FROM"));
  const last = (op: string) => finalStage.filter((i) => i.op === op).at(-1)?.args;

  test("contrib/docker/flywheel.yaml is a valid config: database on the volume, instance pinned, HTTP on all interfaces", () => {
    const config = parseConfig(read("contrib/docker/flywheel.yaml"), { file: "/etc/flywheel/flywheel.yaml", env: {} });
    expect(config.db).toEqual({ kind: "sqlite", path: "/var/lib/flywheel/flywheel.db" });
    expect(config.runtime.instance).toBe("flywheel-container");
    expect(config.runtime.httpAddr).toEqual({ hostname: "0.0.0.0", port: 7741 });
  });

  test("the image: debian-slim, tini as PID 1, a non-root user, the volume and the config path", () => {
    expect(last("FROM")).toMatch(/^debian:[a-z]+-slim$/);
    expect(last("ENTRYPOINT")).toBe('["/usr/bin/tini", "--", "/usr/local/bin/flywheel"]');
    expect(last("CMD")).toBe('["serve"]');
    expect(last("USER")).toBe("flywheel:flywheel");
    expect(last("VOLUME")).toBe("/var/lib/flywheel");
    expect(last("EXPOSE")).toBe("7741");
    expect(last("ENV")).toContain("FLYWHEEL_CONFIG=/etc/flywheel/flywheel.yaml");
    expect(all("COPY")).toContain("contrib/docker/flywheel.yaml /etc/flywheel/flywheel.yaml");
  });

  test("every file the Dockerfile copies from the context exists and is let through by .dockerignore", () => {
    const allowed = read(".dockerignore")
      .split("\n")
      .filter((l) => l.startsWith("!"))
      .map((l) => l.slice(1));
    expect(read(".dockerignore").split("\n").filter((l) => l !== "" && !l.startsWith("#"))[0]).toBe("*");
    const sources = all("COPY")
      .filter((args) => !args.startsWith("--from"))
      .flatMap((args) => args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) {
      expect(existsSync(join(REPO, source)), source).toBe(true);
      const admitted = allowed.some((a) => source === a || source === a.replace(/\/$/, "") || (a.endsWith("/") && source.startsWith(a)));
      expect(admitted, `${source} is excluded by .dockerignore`).toBe(true);
    }
  });
});
