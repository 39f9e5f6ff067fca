import { statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { ConfigEnv } from "./types.ts";

// Paths in a config or on the command line: `~` expansion, relative paths made absolute, the files they must
// name, and the runtime deadline a command job's own timeout implies.

/** `~` and `~/…` expanded against `$HOME` (else the OS home directory); any other path unchanged. */
export function expandHome(path: string, env: ConfigEnv): string {
  return path === "~" || path.startsWith("~/") ? join(env.HOME || homedir(), path.slice(1)) : path;
}

/**
 * Makes a command worker's relative paths absolute against `baseDir` (the config's directory, or the cwd for
 * CLI input): `script` and `dir` for every process worker, `command` for `exec` when it contains a `/`. Jobs
 * then carry absolute paths, so they run the same whichever process claims them and `jobs inspect` shows the
 * real file. Returns the paths that must exist, with the key naming each.
 */
export function resolveCommandPaths(
  kind: string,
  args: Record<string, unknown>,
  baseDir: string,
): { args: Record<string, unknown>; paths: { key: string; path: string; mustBe: "file" | "dir" }[] } {
  const out = { ...args };
  const paths: { key: string; path: string; mustBe: "file" | "dir" }[] = [];
  const fix = (key: string, mustBe: "file" | "dir") => {
    const value = out[key];
    if (typeof value !== "string" || value === "") return;
    out[key] = resolve(baseDir, value);
    paths.push({ key, path: out[key] as string, mustBe });
  };
  if (kind === "http") return { args: out, paths };
  if (kind === "shell" || kind === "python") fix("script", "file");
  if (kind === "exec" && typeof out.command === "string" && out.command.includes("/")) fix("command", "file");
  fix("dir", "dir");
  return { args: out, paths };
}

/** Why `path` is not usable as a `mustBe`, or null when it is. */
export function pathProblem(path: string, mustBe: "file" | "dir"): string | null {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return `${mustBe === "file" ? "file" : "directory"} not found: ${path}`;
  if (mustBe === "file" && !stat.isFile()) return `not a file: ${path}`;
  if (mustBe === "dir" && !stat.isDirectory()) return `not a directory: ${path}`;
  return null;
}

/**
 * The runtime deadline for a command job whose args set `timeout_seconds`: that, plus the kill grace, plus 5 s,
 * so the worker's own timeout (which terminates the process group and keeps its output) fires first and the
 * runner's default (30 min) never cuts a longer job short. Undefined when the args set none.
 */
export function commandJobTimeout(args: Record<string, unknown>, killGraceMs: number): number | undefined {
  const seconds = args.timeout_seconds;
  if (typeof seconds !== "number" || !(seconds > 0)) return undefined;
  const grace = typeof args.kill_grace_seconds === "number" ? args.kill_grace_seconds * 1000 : killGraceMs;
  return Math.ceil(seconds * 1000 + grace + 5_000);
}
