import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { archiveName, assetName, hostPlatform, latestArchiveName } from "../../src/update/platform.ts";
import type { FakeRelease } from "../update/fake-release-server.ts";

const REPO = resolve(import.meta.dir, "..", "..");

/** The host platform every build here targets. */
export const HOST = hostPlatform()!;

/** What one `bun build.ts --target host` run wrote, read back. */
export interface BuiltRelease {
  version: string;
  outdir: string;
  /** Path of the bare executable, `flywheel-<version>-<os>-<arch>`. */
  binary: string;
  /** Every file but checksums.txt(.sig), by name, as build.ts wrote it. */
  files: Record<string, Uint8Array<ArrayBuffer>>;
  checksums: string;
  signature?: Uint8Array;
}

/** Names of the host's assets for `version`. */
export const names = (version: string) => ({
  binary: assetName(version, HOST),
  archive: archiveName(version, HOST),
  latestArchive: latestArchiveName(HOST),
});

/** Runs `bun build.ts --target host --version-override <version> …extraArgs` into `outdir` and reads the result. */
export async function buildRelease(outdir: string, version: string, extraArgs: string[] = []): Promise<BuiltRelease> {
  const proc = Bun.spawn(
    [process.execPath, "build.ts", "--target", "host", "--outdir", outdir, "--version-override", version, ...extraArgs],
    { cwd: REPO, stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`build.ts ${version} ${extraArgs.join(" ")} failed (${code}):\n${out}\n${err}`);
  const files: Record<string, Uint8Array<ArrayBuffer>> = {};
  for (const name of readdirSync(outdir)) {
    if (name !== "checksums.txt" && name !== "checksums.txt.sig") files[name] = new Uint8Array(readFileSync(join(outdir, name)));
  }
  const sigPath = join(outdir, "checksums.txt.sig");
  return {
    version,
    outdir,
    binary: join(outdir, assetName(version, HOST)),
    files,
    checksums: readFileSync(join(outdir, "checksums.txt"), "utf8"),
    ...(existsSync(sigPath) ? { signature: new Uint8Array(readFileSync(sigPath)) } : {}),
  };
}

/**
 * A fake release of `built` as a release workflow would publish it: every file build.ts wrote, its
 * checksums.txt and, when given, `signature` as checksums.txt.sig. `replace` swaps single files (a tampered
 * archive); `checksums: null` leaves checksums.txt out.
 */
export function releaseOf(
  built: BuiltRelease,
  opts: { replace?: Record<string, Uint8Array>; checksums?: string | null; signature?: Uint8Array } = {},
): FakeRelease {
  const assets: Record<string, Uint8Array | string> = { ...built.files, ...opts.replace };
  if (opts.checksums !== null) assets["checksums.txt"] = opts.checksums ?? built.checksums;
  if (opts.signature) assets["checksums.txt.sig"] = opts.signature;
  return { version: built.version, assets };
}

/** A copy of `bytes` with its last byte flipped: same size, different checksum. */
export function tampered(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[copy.length - 1]! ^= 0xff;
  return copy;
}
