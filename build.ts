/**
 * Compiles the `flywheel` binary (SPEC §13).
 *
 *   bun build.ts [--target host|all|<os>-<arch>] [--outdir dist] [--no-minify] [--no-bytecode]
 *                [--version-override 1.2.3]
 *
 * Writes `<outdir>/flywheel-<version>-<os>-<arch>` per target and `<outdir>/checksums.txt` (sha256sum format)
 * listing exactly the binaries this run built. `--target all` cross-compiles linux/darwin × x64/arm64; Bun
 * downloads each target's runtime from the npm registry into its install cache on first use.
 * `--no-minify` and `--no-bytecode` exist because Bun's minifier and bytecode compiler have each miscompiled
 * real code in some release; they let a suspected miscompile be confirmed without editing this file.
 * `--version-override` stamps another version than package.json's (tests build 0.0.1 and 0.0.2 from one tree).
 */
import { mkdir, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import pkg from "./package.json" with { type: "json" };
import {
  assetName,
  bunCompileTarget,
  CHECKSUMS_ASSET,
  hostPlatform,
  RELEASE_PLATFORMS,
  type ReleasePlatform,
} from "./src/update/platform.ts";
import { sha256Hex } from "./src/update/release.ts";
import { parseVersion, stripV } from "./src/update/semver.ts";

/**
 * Options for {@link buildFlywheel}. `{}` means: host target only, minified, with bytecode, into `./dist`,
 * package.json's version.
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
}

/** One compiled binary. */
export interface BuiltBinary {
  name: string;
  path: string;
  bytes: number;
  sha256: string;
}

const ENTRY = join(import.meta.dir, "src", "cli", "main.ts");

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
 * Compiles one binary per target and writes `checksums.txt`. Every binary is built with bunfig.toml and .env
 * autoloading off: with them on, a `preload` in a stranger's `bunfig.toml` in the working directory runs code
 * inside flywheel (verified against Bun 1.4.5; `test/binary` keeps that proven).
 */
export async function buildFlywheel(options: BuildOptions = {}): Promise<BuiltBinary[]> {
  const version = stripV(options.version ?? pkg.version);
  if (!parseVersion(version)) throw new Error(`build: version ${JSON.stringify(version)} is not MAJOR.MINOR.PATCH`);
  const targets = resolveTargets(options.target ?? "host");
  const outdir = resolve(options.outdir ?? "dist");
  const minify = options.minify ?? true;
  const bytecode = options.bytecode ?? true;
  await mkdir(outdir, { recursive: true });

  const built: BuiltBinary[] = [];
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
      // Inside the binary `FLYWHEEL_VERSION` becomes a string literal; see src/version.ts.
      define: { FLYWHEEL_VERSION: JSON.stringify(version) },
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
    const bytes = await Bun.file(path).bytes();
    built.push({ name, path, bytes: (await stat(path)).size, sha256: sha256Hex(bytes) });
  }

  const sums = built.map((b) => `${b.sha256}  ${b.name}\n`).join("");
  await writeFile(join(outdir, CHECKSUMS_ASSET), sums);
  return built;
}

function formatSize(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

if (import.meta.main) {
  let values: {
    target?: string;
    outdir?: string;
    "no-minify"?: boolean;
    "no-bytecode"?: boolean;
    "version-override"?: string;
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
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    console.error(`build: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(
      "usage: bun build.ts [--target host|all|<os>-<arch>] [--outdir dist] [--no-minify] [--no-bytecode] [--version-override X.Y.Z]",
    );
    process.exit(0);
  }
  const started = performance.now();
  try {
    const built = await buildFlywheel({
      target: values.target ?? "host",
      outdir: values.outdir ?? "dist",
      minify: !values["no-minify"],
      bytecode: !values["no-bytecode"],
      ...(values["version-override"] !== undefined ? { version: values["version-override"] } : {}),
    });
    for (const b of built) console.log(`${formatSize(b.bytes).padStart(10)}  ${b.path}`);
    const outdir = resolve(values.outdir ?? "dist");
    console.log(`${" ".repeat(10)}  ${join(outdir, CHECKSUMS_ASSET)}`);
    const off = [values["no-minify"] && "not minified", values["no-bytecode"] && "no bytecode"].filter(Boolean);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`built ${built.length} binar${built.length === 1 ? "y" : "ies"} in ${seconds} s${off.length ? ` (${off.join(", ")})` : ""}`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
