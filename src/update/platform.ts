/** Operating systems flywheel ships binaries for. */
export type ReleaseOs = "linux" | "darwin";

/** CPU architectures flywheel ships binaries for (Node/Bun spelling, as in `process.arch`). */
export type ReleaseArch = "x64" | "arm64";

/** One platform a release carries a binary for. */
export interface ReleasePlatform {
  os: ReleaseOs;
  arch: ReleaseArch;
}

/** Every platform `build.ts --target all` compiles for, and so every platform a release has an asset for. */
export const RELEASE_PLATFORMS: readonly ReleasePlatform[] = [
  { os: "linux", arch: "x64" },
  { os: "linux", arch: "arm64" },
  { os: "darwin", arch: "x64" },
  { os: "darwin", arch: "arm64" },
];

/** Name of the release asset that lists `<sha256>  <asset name>` for every other asset (sha256sum format). */
export const CHECKSUMS_ASSET = "checksums.txt";

/**
 * Name of the release asset holding the Ed25519 signature of {@link CHECKSUMS_ASSET}: the raw 64 signature bytes,
 * no encoding. Published by `build.ts --sign-with`; required by binaries built with a release public key.
 */
export const CHECKSUMS_SIGNATURE_ASSET = "checksums.txt.sig";

/**
 * The platform this process runs on, or `undefined` when no release carries a binary for it (Windows, 32-bit,
 * …): callers turn that into a message rather than guessing an asset name.
 */
export function hostPlatform(
  platform: string = process.platform,
  arch: string = process.arch,
): ReleasePlatform | undefined {
  const os = platform === "linux" || platform === "darwin" ? platform : undefined;
  const cpu = arch === "x64" || arch === "arm64" ? arch : undefined;
  return os && cpu ? { os, arch: cpu } : undefined;
}

/**
 * The release asset name of the binary for one version and platform: `flywheel-<version>-<os>-<arch>`, with the
 * version as written without the tag's leading `v`.
 * @example assetName("1.2.3", { os: "linux", arch: "x64" }) // "flywheel-1.2.3-linux-x64"
 */
export function assetName(version: string, platform: ReleasePlatform): string {
  return `flywheel-${version}-${platform.os}-${platform.arch}`;
}

/**
 * The release asset name of the `.tar.gz` archive for one version and platform, `flywheel-<version>-<os>-<arch>.tar.gz`:
 * a gzipped tar holding one file, `flywheel` (mode 0755). What self-update downloads when a release has it.
 * @example archiveName("1.2.3", { os: "linux", arch: "x64" }) // "flywheel-1.2.3-linux-x64.tar.gz"
 */
export function archiveName(version: string, platform: ReleasePlatform): string {
  return `${assetName(version, platform)}.tar.gz`;
}

/**
 * The same archive under a name without the version, `flywheel-<os>-<arch>.tar.gz`, published in every release
 * so that `https://github.com/<owner>/<repo>/releases/latest/download/flywheel-linux-x64.tar.gz` always names the
 * newest one (install.sh downloads it). Byte-identical to {@link archiveName}'s file, with the same checksum.
 */
export function latestArchiveName(platform: ReleasePlatform): string {
  return `flywheel-${platform.os}-${platform.arch}.tar.gz`;
}

/** The name of the executable inside every release archive. */
export const ARCHIVE_EXECUTABLE = "flywheel";

/** Name of the installer script asset (install.sh with the release public key filled in by build.ts). */
export const INSTALLER_ASSET = "install.sh";

/** Bun's `--compile` target string for a platform (`bun-linux-x64`, …). */
export function bunCompileTarget(platform: ReleasePlatform): `bun-${ReleaseOs}-${ReleaseArch}` {
  return `bun-${platform.os}-${platform.arch}`;
}
