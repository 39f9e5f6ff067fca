import { afterAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  closeSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canWriteDir, installRefusal, stageExecutable } from "../../src/update/install.ts";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "flywheel-install-"));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) {
    chmodSync(d, 0o755);
    rmSync(d, { recursive: true, force: true });
  }
});

const writable = () => true;

describe("installRefusal", () => {
  test("running from source (not a compiled binary) is refused, naming the alternative", () => {
    const msg = installRefusal({ execPath: "/home/me/.bun/bin/bun", isCompiled: false }, writable);
    expect(msg).toContain("runs from source under /home/me/.bun/bin/bun");
    expect(msg).toContain("git pull");
  });

  test("a binary inside node_modules belongs to npm", () => {
    const msg = installRefusal({ execPath: "/usr/lib/node_modules/flywheel/bin/flywheel", isCompiled: true }, writable);
    expect(msg).toStartWith("flywheel: ");
    expect(msg).toContain("npm install -g flywheel@latest");
  });

  test("a binary in a Homebrew Cellar belongs to brew", () => {
    const msg = installRefusal({ execPath: "/opt/homebrew/Cellar/flywheel/1.0.0/bin/flywheel", isCompiled: true }, writable);
    expect(msg).toContain("brew upgrade flywheel");
  });

  test("a directory merely named like node_modules is not a package manager", () => {
    expect(installRefusal({ execPath: "/opt/my-node_modules-tools/flywheel", isCompiled: true }, writable)).toBeUndefined();
  });

  test("an unwritable install directory is refused with the path and a fix (probe injected)", () => {
    const msg = installRefusal({ execPath: "/usr/local/bin/flywheel", isCompiled: true }, () => false);
    expect(msg).toContain("cannot write to /usr/local/bin");
    expect(msg).toContain("sudo flywheel self-update");
  });

  // Root ignores permission bits, so under root (as in this container) the real probe cannot be made to fail.
  const readOnlyDir = tempDir();
  chmodSync(readOnlyDir, 0o555);
  // Root writes through 0555, so as root the check runs as `nobody`, for whom the permission is real.
  const asRoot = canWriteDir(readOnlyDir);
  test("an unwritable install directory is refused (real chmod 0555 directory)", async () => {
    const target = join(readOnlyDir, "flywheel");
    if (!asRoot) {
      expect(installRefusal({ execPath: target, isCompiled: true })).toContain(`cannot write to ${readOnlyDir}`);
      return;
    }
    // nobody may not be able to read this checkout (a fresh clone under a 0700 temp dir), so the check runs as a
    // standalone executable from a world-readable directory.
    const outdir = mkdtempSync(join(tmpdir(), "flywheel-refusal-"));
    dirs.push(outdir);
    chmodSync(outdir, 0o755);
    const exe = join(outdir, "install-refusal");
    const built = await Bun.build({ entrypoints: [join(import.meta.dir, "fixtures/install-refusal.ts")], compile: { outfile: exe }, throw: false });
    expect(built.success).toBe(true);
    const proc = Bun.spawn(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", exe, target], {
      cwd: outdir,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: outdir },
    });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out).toContain(`cannot write to ${readOnlyDir}`);
  });

  test("a normal compiled install in a writable directory may update itself", () => {
    const dir = tempDir();
    expect(installRefusal({ execPath: join(dir, "flywheel"), isCompiled: true })).toBeUndefined();
    // The probe leaves nothing behind.
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("stageExecutable", () => {
  test("commit renames a 0755 copy over the target and leaves no temp file", async () => {
    const dir = tempDir();
    const target = join(dir, "flywheel");
    writeFileSync(target, "old binary");
    chmodSync(target, 0o700);
    const staged = await stageExecutable(target, new TextEncoder().encode("new binary"));
    expect(staged.path.startsWith(`${dir}/`)).toBe(true);
    // Until commit, the target is untouched.
    expect(readFileSync(target, "utf8")).toBe("old binary");
    await staged.commit();
    await staged.discard();
    expect(readFileSync(target, "utf8")).toBe("new binary");
    expect(statSync(target).mode & 0o777).toBe(0o755);
    expect(readdirSync(dir)).toEqual(["flywheel"]);
  });

  test("discard removes the staged file and keeps the target", async () => {
    const dir = tempDir();
    const target = join(dir, "flywheel");
    writeFileSync(target, "old binary");
    const staged = await stageExecutable(target, new Uint8Array([1, 2, 3]));
    await staged.discard();
    expect(readFileSync(target, "utf8")).toBe("old binary");
    expect(readdirSync(dir)).toEqual(["flywheel"]);
    await expect(staged.commit()).rejects.toThrow(/already committed or discarded/);
  });

  test("a file already open (like the running binary) keeps its old content after the swap", async () => {
    const dir = tempDir();
    const target = join(dir, "flywheel");
    writeFileSync(target, "old binary");
    const fd = openSync(target, "r");
    try {
      const staged = await stageExecutable(target, new TextEncoder().encode("new binary"));
      await staged.commit();
      const buf = Buffer.alloc(64);
      const n = readSync(fd, buf, 0, buf.length, 0);
      expect(buf.subarray(0, n).toString()).toBe("old binary");
      expect(readFileSync(target, "utf8")).toBe("new binary");
    } finally {
      closeSync(fd);
    }
  });

  test("writing into a missing directory is a refusal, not a crash", async () => {
    const target = join(tempDir(), "no-such-dir", "flywheel");
    await expect(stageExecutable(target, new Uint8Array([1]))).rejects.toThrow(/cannot write the new binary beside/);
  });

  test("staging against a symlink's real path replaces the file and keeps the link", async () => {
    const dir = tempDir();
    const real = join(dir, "flywheel-real");
    const link = join(dir, "flywheel");
    writeFileSync(real, "old");
    symlinkSync(real, link);
    // runningInstall() hands stageExecutable the realpath of process.execPath; a link is never overwritten.
    const staged = await stageExecutable(realpathSync(link), new TextEncoder().encode("new"));
    await staged.commit();
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(link, "utf8")).toBe("new");
  });
});
