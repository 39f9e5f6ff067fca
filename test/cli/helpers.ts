import { randomFillSync } from "node:crypto";
import { closeSync, mkdirSync, openSync, readSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { connect, type Flywheel } from "../../src/index.ts";
import { eventually, tempDir } from "../support/helpers.ts";

/** The real CLI entry point; tests spawn it exactly as a user would run `bun src/cli/main.ts`. */
export const MAIN = resolve(import.meta.dir, "../../src/cli/main.ts");

/** A temp directory holding the CLI's whole world: cwd, HOME and the XDG dirs. */
export interface Sandbox {
  dir: string;
  env: Record<string, string>;
  /** Writes `text` to `dir/name` (creating parents) and returns the absolute path. */
  write(name: string, text: string): string;
  remove(): Promise<void>;
}

/** A fresh sandbox; nothing the CLI does can reach the real HOME or XDG directories. */
export async function sandbox(): Promise<Sandbox> {
  const tmp = await tempDir("flywheel-cli-");
  const dir = tmp.path;
  for (const sub of ["home", "state", "config", "cache"]) mkdirSync(join(dir, sub));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: join(dir, "home"),
    XDG_STATE_HOME: join(dir, "state"),
    XDG_CONFIG_HOME: join(dir, "config"),
    XDG_CACHE_HOME: join(dir, "cache"),
    FLYWHEEL_NO_UPDATE_CHECK: "1",
    NO_COLOR: "1",
    LANG: "C.UTF-8",
  };
  return {
    dir,
    env,
    write(name, text) {
      const path = join(dir, name);
      mkdirSync(resolve(path, ".."), { recursive: true });
      writeFileSync(path, text);
      return path;
    },
    remove: tmp.remove,
  };
}

/** What one CLI invocation printed and how it exited. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `flywheel <args>` to completion in the sandbox. */
export async function cli(box: Sandbox, args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], {
    cwd: options.cwd ?? box.dir,
    env: { ...box.env, ...options.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** Runs a CLI command that must succeed and print JSON; returns the parsed value. */
export async function cliJson<T = any>(box: Sandbox, args: string[], options: { env?: Record<string, string> } = {}): Promise<T> {
  const result = await cli(box, [...args, "--json"], options);
  if (result.code !== 0) throw new Error(`flywheel ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** A running `flywheel serve` whose JSON log lines are collected as they arrive. */
export interface Serve {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Every JSON log line so far, parsed. */
  logs: Record<string, any>[];
  /** Raw stderr so far (non-JSON lines too). */
  stderr(): string;
  /** Resolves with the first log line matching `predicate`. */
  waitForLog(what: string, predicate: (line: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  /** The HTTP base URL from the `node started` line. */
  url(): Promise<string>;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/** Starts `flywheel serve <args>` in the sandbox. The config should set `log: { format: json }`. */
export function serve(box: Sandbox, args: string[], options: { env?: Record<string, string> } = {}): Serve {
  const proc = Bun.spawn([process.execPath, MAIN, "serve", ...args], {
    cwd: box.dir,
    env: { ...box.env, ...options.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let raw = "";
  const logs: Record<string, any>[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of proc.stderr) {
      const text = decoder.decode(chunk, { stream: true });
      raw += text;
      pending += text;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        try {
          logs.push(JSON.parse(line));
        } catch {
          // Not a log line (e.g. a one-line error before the logger exists); kept in raw.
        }
      }
    }
  })();
  void new Response(proc.stdout).text();
  const waitForLog = (what: string, predicate: (line: Record<string, any>) => boolean, timeoutMs = 10_000) =>
    eventually(
      what,
      () => {
        if (proc.exitCode !== null) throw new Error(`serve exited ${proc.exitCode}: ${raw}`);
        return logs.find(predicate);
      },
      timeoutMs,
    );
  return {
    proc,
    logs,
    stderr: () => raw,
    waitForLog,
    url: async () => (await waitForLog("node started", (l) => l.msg === "flywheel: node started")).http as string,
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null) proc.kill(signal);
      return proc.exited;
    },
  };
}

/** Opens the sandbox's SQLite file directly, to check what the CLI wrote. */
export function openDb(path: string): Promise<Flywheel> {
  return connect(`sqlite:${path}`);
}

/** Creates the SQLite file at `path` (migrated) holding `count` shell jobs on queue `parked`, then closes it. */
export async function databaseWithJobs(path: string, count: number): Promise<void> {
  const fw = await openDb(path);
  try {
    await fw.migrate();
    const items = Array.from({ length: count }, (_, i) => ({ kind: "shell", args: { inline: `echo job ${i} ${"x".repeat(100)}` }, options: { queue: "parked" } }));
    await fw.insertMany(items);
  } finally {
    await fw.close();
  }
}

/**
 * Overwrites the pages between fractions `from` and `to` of a closed or open SQLite file with random bytes,
 * as a failing disk or a stray write would. Page 1 (the 100-byte header and the schema's root) is always kept,
 * so the file still opens as a database. Returns the 1-based page numbers garbled.
 */
export function garblePages(path: string, from: number, to: number): { first: number; last: number } {
  const fd = openSync(path, "r+");
  try {
    const header = Buffer.alloc(2);
    readSync(fd, header, 0, 2, 16);
    // The header stores the page size big-endian at offset 16; the value 1 means 65,536.
    const pageSize = header.readUInt16BE(0) === 1 ? 65_536 : header.readUInt16BE(0);
    const pages = Math.floor(statSync(path).size / pageSize);
    const first = Math.max(1, Math.floor(pages * from));
    const last = Math.min(pages, Math.ceil(pages * to));
    const noise = Buffer.alloc(pageSize);
    for (let page = first; page < last; page++) {
      randomFillSync(noise);
      writeSync(fd, noise, 0, pageSize, page * pageSize);
    }
    return { first: first + 1, last };
  } finally {
    closeSync(fd);
  }
}
