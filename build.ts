/**
 * Compiles the `flywheel` binary (SPEC §13).
 *
 *   bun build.ts [--target host|all|<os>-<arch>] [--outdir dist] [--no-minify] [--no-bytecode]
 *                [--version-override 1.2.3] [--signing-public-key <key or file>] [--sign-with <private key file>]
 *
 * Writes per target the executable `flywheel-<version>-<os>-<arch>` and the same executable as `flywheel`
 * (mode 0755) in a gzipped tar under two names: `flywheel-<version>-<os>-<arch>.tar.gz` and the unversioned
 * `flywheel-<os>-<arch>.tar.gz` (so `releases/latest/download/flywheel-linux-x64.tar.gz` always works); then
 * `install.sh` with the release public key filled in, and `checksums.txt` (sha256sum format) listing exactly the
 * files this run wrote. `--target all` cross-compiles linux/darwin × x64/arm64; Bun downloads each target's
 * runtime from the npm registry into its install cache on first use.
 * `--no-minify` and `--no-bytecode` exist because Bun's minifier and bytecode compiler have each miscompiled
 * real code in some release; they let a suspected miscompile be confirmed without editing this file.
 * `--version-override` stamps another version than package.json's (tests build 0.0.1 and 0.0.2 from one tree).
 * `--signing-public-key` bakes an Ed25519 release public key into the binaries, which then install only releases
 * whose `checksums.txt.sig` verifies; `--sign-with` writes that signature (raw 64 bytes) next to `checksums.txt`.
 * Keys are files or inline text in any form src/update/signature.ts decodes (PEM, base64, raw 32 bytes);
 * docs/RELEASING.md has the commands to make a pair.
 */
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import pkg from "./package.json" with { type: "json" };
import {
  ARCHIVE_EXECUTABLE,
  archiveName,
  assetName,
  bunCompileTarget,
  CHECKSUMS_ASSET,
  CHECKSUMS_SIGNATURE_ASSET,
  hostPlatform,
  INSTALLER_ASSET,
  latestArchiveName,
  RELEASE_PLATFORMS,
  type ReleasePlatform,
} from "./src/update/platform.ts";
import { sha256Hex } from "./src/update/release.ts";
import { parseVersion, stripV } from "./src/update/semver.ts";
import {
  decodePrivateKey,
  decodePublicKey,
  publicKeyOf,
  publicKeySpkiBase64,
  signWithPrivateKey,
  verifySignature,
} from "./src/update/signature.ts";
import { writeTar } from "./src/update/tar.ts";

/**
 * Options for {@link buildFlywheel}. `{}` means: host target only, minified, with bytecode, into `./dist`,
 * package.json's version, no release public key embedded and no signature written.
 */
export interface BuildOptions {
  /** `host`, `all`, or one `<os>-<arch>` such as `linux-arm64`. */
  target?: string;
  outdir?: string;
  minify?: boolean;
  /**
   * Embed precompiled JavaScriptCore bytecode: `flywheel version` starts in about half the time (measured
   * ~6 ms vs ~11 ms on linux-x64) for ~1.5 MB more. Bytecode is architecture-independent, so it cross-compiles,
   * and a mismatch makes Bun fall back to parsing the source rather than fail.
   */
  bytecode?: boolean;
  version?: string;
  /** Raw 32-byte Ed25519 public key to embed; the binaries then require a valid `checksums.txt.sig`. */
  signingPublicKey?: Uint8Array;
  /**
   * Raw 32-byte Ed25519 private seed: sign `checksums.txt` into `checksums.txt.sig`. When `signingPublicKey` is
   * given too they must be a pair, or the build stops before compiling anything.
   */
  signingKey?: Uint8Array;
}

/** One file a build wrote and listed in `checksums.txt`. */
export interface BuiltAsset {
  name: string;
  path: string;
  bytes: number;
  sha256: string;
}

const ENTRY = join(import.meta.dir, "src", "cli", "main.ts");
const INSTALLER = join(import.meta.dir, INSTALLER_ASSET);
/** The line of install.sh that carries the release public key; build.ts fills it in. */
const INSTALLER_KEY_LINE = /^RELEASE_PUBLIC_KEY=.*$/m;

/** Which platforms `target` means; throws a one-line message for anything unknown. */
export function resolveTargets(target: string): ReleasePlatform[] {
  if (target === "all") return [...RELEASE_PLATFORMS];
  if (target === "host") {
    const host = hostPlatform();
    if (!host) throw new Error(`build: no flywheel target for host ${process.platform}-${process.arch}`);
    return [host];
  }
  const one = RELEASE_PLATFORMS.find((p) => `${p.os}-${p.arch}` === target);
  if (!one) {
    const known = ["host", "all", ...RELEASE_PLATFORMS.map((p) => `${p.os}-${p.arch}`)].join(", ");
    throw new Error(`build: unknown --target ${JSON.stringify(target)} (expected one of ${known})`);
  }
  return [one];
}

/**
 * Compiles one binary per target, packs each into its archives, writes install.sh and `checksums.txt`, and
 * returns every file listed there. Every binary is built with bunfig.toml and .env autoloading off: with them
 * on, a `preload` in a stranger's `bunfig.toml` in the working directory runs code inside flywheel (verified
 * against Bun 1.4.5; `test/binary` keeps that proven).
 */
export async function buildFlywheel(options: BuildOptions = {}): Promise<BuiltAsset[]> {
  const version = stripV(options.version ?? pkg.version);
  if (!parseVersion(version)) throw new Error(`build: version ${JSON.stringify(version)} is not MAJOR.MINOR.PATCH`);
  const targets = resolveTargets(options.target ?? "host");
  const outdir = resolve(options.outdir ?? "dist");
  const minify = options.minify ?? true;
  const bytecode = options.bytecode ?? true;
  const { signingKey, signingPublicKey } = options;
  if (signingKey && signingPublicKey && !sameBytes(await publicKeyOf(signingKey), signingPublicKey)) {
    throw new Error("build: the --sign-with key is not the private half of --signing-public-key; binaries built so would refuse their own release");
  }
  const define: Record<string, string> = { FLYWHEEL_VERSION: JSON.stringify(version) };
  // Read in src/update/signature.ts as RELEASE_PUBLIC_KEY, the same define pattern as the version.
  if (signingPublicKey) define.FLYWHEEL_SIGNING_PUBLIC_KEY = JSON.stringify(Buffer.from(signingPublicKey).toString("base64"));
  await mkdir(outdir, { recursive: true });
  const mtime = Math.floor(Date.now() / 1000);

  const built: BuiltAsset[] = [];
  const record = async (name: string, bytes: Uint8Array, mode: number) => {
    const path = join(outdir, name);
    await writeFile(path, bytes);
    // Explicit chmod: writeFile's mode is filtered through the umask, and a rebuild keeps the old file's mode.
    await chmod(path, mode);
    built.push({ name, path, bytes: bytes.byteLength, sha256: sha256Hex(bytes) });
  };
  // Sequential on purpose: each cross-compile may download a ~30 MB runtime, and the logs stay readable.
  for (const platform of targets) {
    const name = assetName(version, platform);
    const path = join(outdir, name);
    const result = await Bun.build({
      entrypoints: [ENTRY],
      minify,
      bytecode,
      // ESM bytecode needs an explicit ESM format; main.ts uses top-level await, which CommonJS cannot express.
      format: "esm",
      // Inside the binary `FLYWHEEL_VERSION` becomes a string literal; see src/core/version.ts.
      define,
      compile: {
        target: bunCompileTarget(platform),
        outfile: path,
        autoloadBunfig: false,
        autoloadDotenv: false,
        autoloadTsconfig: false,
        autoloadPackageJson: false,
      },
      throw: false,
    });
    if (!result.success) {
      const why = result.logs.map((l) => String(l)).join("\n");
      throw new Error(`build: compiling ${name} failed\n${why}`);
    }
    const executable = await Bun.file(path).bytes();
    built.push({ name, path, bytes: executable.byteLength, sha256: sha256Hex(executable) });
    // Level 6: level 9 takes twice as long on a 100 MB binary for 2% fewer bytes.
    const archive = Bun.gzipSync(writeTar([{ name: ARCHIVE_EXECUTABLE, bytes: executable, mode: 0o755, mtime }]), { level: 6 });
    await record(archiveName(version, platform), archive, 0o644);
    await record(latestArchiveName(platform), archive, 0o644);
  }
  // The key that signs this release: what the binaries embed, or the signer's public half when none is embedded.
  const installerKey = signingPublicKey ?? (signingKey ? await publicKeyOf(signingKey) : undefined);
  await record(INSTALLER_ASSET, installerWithKey(readFileSync(INSTALLER, "utf8"), installerKey), 0o755);

  const sums = new TextEncoder().encode(built.map((b) => `${b.sha256}  ${b.name}\n`).join(""));
  await writeFile(join(outdir, CHECKSUMS_ASSET), sums);
  const sigPath = join(outdir, CHECKSUMS_SIGNATURE_ASSET);
  // A signature left from an earlier build would not match these checksums and would be published with them.
  await rm(sigPath, { force: true });
  if (signingKey) await writeFile(sigPath, await signChecked(sums, signingKey));
  return built;
}

/**
 * install.sh with its `RELEASE_PUBLIC_KEY=` line set to `publicKey` (base64 of the DER SubjectPublicKeyInfo),
 * or left empty for an unsigned build, so the script checks the release's signature as the binaries do.
 */
export function installerWithKey(script: string, publicKey: Uint8Array | undefined): Uint8Array {
  if (!INSTALLER_KEY_LINE.test(script)) throw new Error(`build: ${INSTALLER_ASSET} has no RELEASE_PUBLIC_KEY= line to put the release key in`);
  const value = publicKey ? publicKeySpkiBase64(publicKey) : "";
  return new TextEncoder().encode(script.replace(INSTALLER_KEY_LINE, `RELEASE_PUBLIC_KEY='${value}'`));
}

/** Signs `data` and verifies the result with the key's own public half, so a broken signature is never written. */
async function signChecked(data: Uint8Array, signingKey: Uint8Array): Promise<Uint8Array> {
  const signature = await signWithPrivateKey(data, signingKey);
  if (!(await verifySignature(data, signature, await publicKeyOf(signingKey)))) {
    throw new Error(`build: the signature of ${CHECKSUMS_ASSET} does not verify with its own key`);
  }
  return signature;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

/**
 * The key a `--signing-public-key` / `--sign-with` argument names: the content of the file at `arg` when one
 * exists, else `arg` itself as inline text (base64 or PEM, as a CI variable holds it). Throws a one-line
 * message naming the flag and the forms accepted.
 */
function readKeyArgument(flag: string, arg: string, decode: (input: string | Uint8Array) => Uint8Array | undefined): Uint8Array {
  const isFile = existsSync(arg);
  const key = decode(isFile ? new Uint8Array(readFileSync(arg)) : arg);
  if (!key) {
    const what = isFile ? `file ${arg}` : "value (not an existing file)";
    throw new Error(`build: ${flag} ${what} holds no Ed25519 key (expected PEM, base64 of the 32-byte key or its DER, or a raw 32-byte file)`);
  }
  return key;
}

function formatSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

if (import.meta.main) {
  let values: {
    target?: string;
    outdir?: string;
    "no-minify"?: boolean;
    "no-bytecode"?: boolean;
    "version-override"?: string;
    "signing-public-key"?: string;
    "sign-with"?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: Bun.argv.slice(2),
      strict: true,
      allowPositionals: false,
      options: {
        target: { type: "string" },
        outdir: { type: "string" },
        "no-minify": { type: "boolean" },
        "no-bytecode": { type: "boolean" },
        "version-override": { type: "string" },
        "signing-public-key": { type: "string" },
        "sign-with": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    console.error(`build: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(
      "usage: bun build.ts [--target host|all|<os>-<arch>] [--outdir dist] [--no-minify] [--no-bytecode] [--version-override X.Y.Z] [--signing-public-key <key or file>] [--sign-with <private key file>]",
    );
    process.exit(0);
  }
  const started = performance.now();
  try {
    const publicKeyArg = values["signing-public-key"];
    const signWithArg = values["sign-with"];
    const signingPublicKey = publicKeyArg === undefined ? undefined : readKeyArgument("--signing-public-key", publicKeyArg, decodePublicKey);
    const signingKey = signWithArg === undefined ? undefined : readKeyArgument("--sign-with", signWithArg, decodePrivateKey);
    const built = await buildFlywheel({
      ...(signingPublicKey ? { signingPublicKey } : {}),
      ...(signingKey ? { signingKey } : {}),
      target: values.target ?? "host",
      outdir: values.outdir ?? "dist",
      minify: !values["no-minify"],
      bytecode: !values["no-bytecode"],
      ...(values["version-override"] !== undefined ? { version: values["version-override"] } : {}),
    });
    for (const b of built) console.log(`${formatSize(b.bytes).padStart(10)}  ${b.path}`);
    const outdir = resolve(values.outdir ?? "dist");
    console.log(`${" ".repeat(10)}  ${join(outdir, CHECKSUMS_ASSET)}`);
    if (signingKey) console.log(`${" ".repeat(10)}  ${join(outdir, CHECKSUMS_SIGNATURE_ASSET)} (Ed25519)`);
    console.log(
      signingPublicKey
        ? `release public key embedded (${Buffer.from(signingPublicKey).toString("base64")}): these binaries install only signed releases`
        : "no release public key embedded: these binaries trust checksums.txt unsigned",
    );
    const off = [values["no-minify"] && "not minified", values["no-bytecode"] && "no bytecode"].filter(Boolean);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const targets = resolveTargets(values.target ?? "host").length;
    console.log(`built ${targets} binar${targets === 1 ? "y" : "ies"} in ${seconds} s${off.length ? ` (${off.join(", ")})` : ""}`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
