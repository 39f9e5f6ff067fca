import { closeSync, fsyncSync, openSync, realpathSync, unlinkSync } from "node:fs";
import { chmod, open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join, sep } from "node:path";
import { FlywheelError } from "../core/errors.ts";
import { UpdateError } from "./update-error.ts";

/** What {@link installRefusal} looks at. `{}`-like defaults are filled by {@link runningInstall}. */
export interface InstallFacts {
  /** Real path of the executable that would be replaced (symlinks resolved). */
  execPath: string;
  /** Whether this process is a `bun build --compile` binary; anything else has no file of its own to replace. */
  isCompiled: boolean;
}

/**
 * Facts about the running process: `process.execPath` with symlinks resolved (so a `/usr/local/bin/flywheel`
 * link updates the file it points at and stays a link), and `Bun.isStandaloneExecutable`.
 */
export function runningInstall(): InstallFacts {
  let execPath = process.execPath;
  try {
    execPath = realpathSync(execPath);
  } catch {
    // An unresolvable path is reported by the writability probe with the path the user recognises.
  }
  return { execPath, isCompiled: Bun.isStandaloneExecutable };
}

/**
 * Whether a new file can be created in `dir`, found by creating (and removing) one. A real write is the only
 * honest test: permission bits lie for root, read-only mounts and ACLs.
 */
export function canWriteDir(dir: string): boolean {
  const probe = join(dir, `.flywheel-write-probe-${process.pid}-${randomSuffix()}`);
  try {
    closeSync(openSync(probe, "wx", 0o600));
  } catch {
    return false;
  }
  try {
    unlinkSync(probe);
  } catch {
    // The probe is empty and dot-named; failing to remove it must not turn a writable dir into a refusal.
  }
  return true;
}

/**
 * Why this install must not replace itself, as a one-line message that names the fix, or `undefined` when it
 * may. Checked before any network access so a refusal is instant. In order: not a compiled binary (running
 * from source or through `bun`), owned by npm (`/node_modules/`), owned by Homebrew (`/Cellar/`), and a
 * directory this user cannot create files in.
 */
export function installRefusal(facts: InstallFacts, probe: (dir: string) => boolean = canWriteDir): string | undefined {
  const { execPath, isCompiled } = facts;
  if (!isCompiled) {
    return `flywheel: self-update only replaces the standalone flywheel binary, and this flywheel runs from source under ${execPath}; update it where it came from (git pull, or npm/bun install flywheel@latest)`;
  }
  // Match on path segments so a directory merely named like "my-node_modules" does not trigger a refusal.
  const path = execPath.split(sep).join("/");
  if (path.includes("/node_modules/")) {
    return `flywheel: ${execPath} was installed with npm; update it with "npm install -g flywheel@latest" (or the package manager that installed it)`;
  }
  if (path.includes("/Cellar/")) {
    return `flywheel: ${execPath} is managed by Homebrew; update it with "brew upgrade flywheel"`;
  }
  const dir = dirname(execPath);
  if (!probe(dir)) {
    return `flywheel: cannot write to ${dir}; re-run with permission to replace ${execPath} (e.g. "sudo flywheel self-update") or reinstall flywheel somewhere you own`;
  }
  return undefined;
}

// Web Crypto rather than node:crypto: the bundler hoists node: imports to the binary's top level, and
// node:crypto alone adds ~5 ms to every command's startup.
function randomSuffix(): string {
  return crypto.randomUUID().slice(0, 8);
}

/** A new binary written beside the one it will replace, not yet in place. */
export interface StagedExecutable {
  /** Path of the staged file (same directory as the target, so `rename` is atomic). */
  path: string;
  /** Atomically renames the staged file over the target. After this, `discard` does nothing. */
  commit(): Promise<void>;
  /** Removes the staged file; safe to call more than once or after a failed commit. */
  discard(): Promise<void>;
}

/**
 * Writes `bytes` to a fresh temp file in the target's directory, flushes it to disk and makes it executable
 * (0755). The running executable is never opened: on Linux that fails with ETXTBSY and on macOS writing a
 * signed, mapped binary gets the process killed; `rename` swaps the directory entry instead, and the running
 * process keeps its old inode. Throws {@link UpdateError} `refused` when the file cannot be written.
 */
export async function stageExecutable(target: string, bytes: Uint8Array): Promise<StagedExecutable> {
  const dir = dirname(target);
  const path = join(dir, `.${basename(target)}.update-${process.pid}-${randomSuffix()}`);
  let done = false;
  const discard = async () => {
    if (done) return;
    done = true;
    await unlink(path).catch(() => {});
  };
  try {
    const fh = await open(path, "wx", 0o700);
    try {
      await fh.writeFile(bytes);
      // Flush before the rename: otherwise a crash right after it can leave an empty file under the real name.
      await fh.sync();
    } finally {
      await fh.close();
    }
    // Explicit chmod because the mode given to open() is filtered through the umask.
    await chmod(path, 0o755);
  } catch (cause) {
    await discard();
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new UpdateError("refused", `flywheel: cannot write the new binary beside ${target}: ${why}`, { cause });
  }
  return {
    path,
    discard,
    async commit() {
      if (done) throw new FlywheelError("invalid_state", "flywheel: staged executable already committed or discarded");
      try {
        await rename(path, target);
      } catch (cause) {
        await discard();
        const why = cause instanceof Error ? cause.message : String(cause);
        throw new UpdateError("refused", `flywheel: cannot replace ${target}: ${why}`, { cause });
      }
      done = true;
      syncDir(dir);
    },
  };
}

/** Persists the rename itself; best effort because not every platform or filesystem lets a directory be fsynced. */
function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // The binary is already in place; durability of the directory entry is a bonus, not a requirement.
  }
}
