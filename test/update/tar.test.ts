import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readTarFile, writeTar } from "../../src/update/tar.ts";

// The archive format is checked against GNU tar both ways: what writeTar makes, tar unpacks; what tar packs
// (ustar, pax, with ./ prefixes), readTarFile finds.

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "flywheel-tar-"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function tar(args: string[], cwd: string): Uint8Array {
  const r = Bun.spawnSync(["tar", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`tar ${args.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout;
}

/** Changes the type flag of the header at `offset` and fixes its checksum, to make entries writeTar does not. */
function retype(archive: Uint8Array, offset: number, type: string): void {
  archive[offset + 156] = type.charCodeAt(0);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : archive[offset + i]!;
  archive.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, "0")}\0 `), offset + 148);
}

/** Bytes whose every 512-byte block differs, so an off-by-one block shows up as a mismatch. */
function payload(size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 31 + Math.floor(i / 512)) % 251);
}

describe("writeTar", () => {
  test("GNU tar lists and unpacks it: name, mode 0755, size, owner root, content", () => {
    const bytes = payload(1500);
    const archive = writeTar([{ name: "flywheel", bytes, mode: 0o755, mtime: 1_700_000_000 }]);
    expect(archive.byteLength % 512).toBe(0);
    const file = join(root, "w.tar");
    writeFileSync(file, archive);
    expect(new TextDecoder().decode(tar(["-tvf", file], root))).toStartWith("-rwxr-xr-x root/root      1500 2023-11-14");
    const out = join(root, "w-out");
    mkdirSync(out);
    tar(["-xf", file, "-C", out], root);
    expect(readFileSync(join(out, "flywheel"))).toEqual(Buffer.from(bytes));
    expect(statSync(join(out, "flywheel")).mode & 0o777).toBe(0o755);
  });

  test("an empty file and a block-sized file round-trip", () => {
    for (const size of [0, 512, 1024]) {
      const bytes = payload(size);
      const entry = readTarFile(writeTar([{ name: "flywheel", bytes, mode: 0o644, mtime: 0 }]), "flywheel");
      expect(entry?.bytes).toEqual(bytes);
      expect(entry?.mode).toBe(0o644);
    }
  });

  test("a name longer than the header holds is refused", () => {
    expect(() => writeTar([{ name: "x".repeat(101), bytes: new Uint8Array(), mode: 0o644, mtime: 0 }])).toThrow("does not fit in 100 bytes");
  });
});

describe("readTarFile", () => {
  const dir = () => {
    const d = join(root, `src-${crypto.randomUUID().slice(0, 8)}`);
    mkdirSync(d);
    writeFileSync(join(d, "README"), "readme first");
    writeFileSync(join(d, "flywheel"), payload(3000));
    chmodSync(join(d, "flywheel"), 0o755);
    return d;
  };

  test("finds flywheel after another entry in archives GNU tar writes (ustar, pax, ./ prefix)", () => {
    for (const args of [
      ["--format=ustar", "-cf", "-", "README", "flywheel"],
      ["--format=pax", "-cf", "-", "README", "flywheel"],
      ["--format=gnu", "-cf", "-", "./README", "./flywheel"],
    ]) {
      const entry = readTarFile(tar(args, dir()), "flywheel");
      expect(entry?.bytes).toEqual(payload(3000));
      expect(entry?.mode).toBe(0o755);
    }
  });

  test("a pax extended header's path names the entry that follows it", () => {
    const record = "17 path=flywheel\n";
    const archive = writeTar([
      { name: "PaxHeaders/x", bytes: new TextEncoder().encode(record), mode: 0o644, mtime: 0 },
      { name: "a-name-too-long-for-ustar-cut-short", bytes: payload(700), mode: 0o755, mtime: 0 },
    ]);
    retype(archive, 0, "x");
    expect(readTarFile(archive, "flywheel")?.bytes).toEqual(payload(700));
    expect(readTarFile(archive, "a-name-too-long-for-ustar-cut-short")).toBeUndefined();
  });

  test("a file only in a subdirectory is not the top-level one", () => {
    const d = dir();
    mkdirSync(join(d, "bin"));
    writeFileSync(join(d, "bin", "flywheel"), "nested");
    expect(readTarFile(tar(["-cf", "-", "README", "bin"], d), "flywheel")).toBeUndefined();
  });

  test("not a tar archive, or cut short: a one-line error, never bytes", () => {
    expect(() => readTarFile(new TextEncoder().encode("x".repeat(1024)), "flywheel")).toThrow("not a tar archive (bad header checksum at byte 0)");
    const whole = writeTar([{ name: "flywheel", bytes: payload(2000), mode: 0o755, mtime: 0 }]);
    expect(() => readTarFile(whole.subarray(0, 1024), "flywheel")).toThrow("tar archive truncated");
    expect(readTarFile(new Uint8Array(1024), "flywheel")).toBeUndefined();
  });
});
