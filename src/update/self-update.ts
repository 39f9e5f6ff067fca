import { VERSION } from "../core/version.ts";
import { installRefusal, runningInstall, stageExecutable, type InstallFacts } from "./install.ts";
import { archiveName, CHECKSUMS_ASSET, CHECKSUMS_SIGNATURE_ASSET, hostPlatform, type ReleasePlatform } from "./platform.ts";
import {
  downloadAsset,
  fetchRelease,
  findAsset,
  parseChecksums,
  updateBaseUrl,
  verifyChecksum,
  type DownloadProgress,
  type FetchLike,
  type HttpOptions,
  type Release,
} from "./release.ts";
import { executableFromArchive, platformAsset } from "./release-asset.ts";
import { compareVersions, parseVersion, stripV } from "./semver.ts";
import { assertSignedChecksums, RELEASE_PUBLIC_KEY } from "./signature.ts";
import { UpdateError } from "./update-error.ts";

/**
 * Options for {@link selfUpdate}. `{}` means: install the latest release over the running binary, if it is
 * newer, from `FLYWHEEL_UPDATE_URL` or GitHub. The remaining fields exist so tests can describe an install
 * without being one; the CLI passes only `check`, `force` and `version`.
 */
export interface SelfUpdateOptions {
  /** Report what would happen and change nothing. Skips the install refusals: asking is always allowed. */
  check?: boolean;
  /** Install even when the release is the version already running. */
  force?: boolean;
  /** Install exactly this version (with or without `v`), newer or older, instead of the latest. */
  version?: string;
  /** Version considered installed; defaults to {@link VERSION}. */
  currentVersion?: string;
  /** Base of the releases API; defaults to {@link updateBaseUrl}. */
  baseUrl?: string;
  /** The executable to replace and whether it is compiled; defaults to {@link runningInstall}. */
  install?: InstallFacts;
  /** Platform whose asset to pick; defaults to {@link hostPlatform}. */
  platform?: ReleasePlatform;
  fetch?: FetchLike;
  /**
   * Raw 32-byte Ed25519 key that must have signed the release's `checksums.txt` (as `checksums.txt.sig`);
   * defaults to {@link RELEASE_PUBLIC_KEY}, the key baked in by `build.ts --signing-public-key`. Without a key
   * the checksums are trusted as served.
   */
  releasePublicKey?: Uint8Array;
  /** Directory writability test; defaults to a real write probe. */
  probe?: (dir: string) => boolean;
  /**
   * Checks the staged binary before it replaces the old one; throw to abort. Defaults to running
   * `<staged> version --json` with a minimal environment and comparing the version it reports.
   */
  verifyStaged?: (path: string, expectedVersion: string) => Promise<void>;
  /** Progress lines (downloading…, verified…); defaults to none. */
  log?: (line: string) => void;
  /** Called as the binary's download arrives (not for the small checksum files); defaults to none. */
  onProgress?: DownloadProgress;
}

/** What {@link selfUpdate} did or, with `check`, would do. */
export type SelfUpdateResult =
  | { action: "up-to-date"; current: string; latest: string; url: string | null }
  | { action: "available"; current: string; target: string; url: string | null }
  | { action: "updated"; from: string; to: string; path: string };

/**
 * Replaces the running flywheel binary with a release: resolve the release, pick the asset for this platform
 * (the `.tar.gz`, or the bare executable of older releases), verify its SHA-256 against the release's
 * `checksums.txt`, take `flywheel` out of the archive, write it beside the binary, check it runs, and rename it
 * over the old one. In results, `url` is the download URL of this platform's asset in the release compared
 * (`null` when it has none), so `--check` can say what would be fetched. Throws {@link UpdateError}; whatever
 * the failure, the installed binary is left byte-identical, because nothing touches its path before the final
 * `rename`.
 *
 * Guarantees: no unverified byte is ever installed (a release without `checksums.txt` is refused); with a
 * release key, `checksums.txt` itself must carry a valid signature, so a source that swaps binary and checksums
 * together is refused too; every URL is `https` (plain `http` only to loopback, `file:` never, redirects
 * included); the staged binary's test run sees only `PATH` and `HOME` of this process's environment; the swap is
 * atomic (readers see the old or the new file, never a mix). Non-guarantees: without a release key, whoever
 * controls the release source controls what is installed; the running process keeps executing the old code
 * until it exits; a downgrade with `version` is allowed on purpose.
 * @example
 * const result = await selfUpdate({ check: true });
 * if (result.action === "available") console.log(`run flywheel self-update to get ${result.target}`);
 */
export async function selfUpdate(options: SelfUpdateOptions = {}): Promise<SelfUpdateResult> {
  const log = options.log ?? (() => {});
  const current = stripV(options.currentVersion ?? VERSION);
  const pinned = options.version === undefined ? undefined : stripV(options.version);
  if (pinned !== undefined && !parseVersion(pinned)) {
    throw new UpdateError("usage", `flywheel: --version ${JSON.stringify(options.version)} is not a version (expected e.g. 1.2.3)`);
  }
  const platform = options.platform ?? hostPlatform();
  if (!platform) {
    throw new UpdateError("refused", `flywheel: no flywheel binaries are published for ${process.platform}-${process.arch}; build from source instead`);
  }
  const install = options.install ?? runningInstall();
  if (!options.check) {
    const refusal = installRefusal(install, options.probe);
    if (refusal) throw new UpdateError("refused", refusal);
  }

  const http = options.fetch ? { fetch: options.fetch } : {};
  const base = options.baseUrl ?? updateBaseUrl();
  const release = await fetchRelease(base, pinned, http);
  if (pinned !== undefined && compareVersions(release.version, pinned) !== 0) {
    throw new UpdateError("release", `flywheel: asked ${base} for v${pinned} but it answered ${release.tag}`);
  }

  const order = compareVersions(release.version, current);
  // A pin installs whatever differs (including downgrades); "latest" only ever moves forward.
  const wanted = options.force || (pinned !== undefined ? order !== 0 : order > 0);
  const found = platformAsset(release, platform);
  const url = found?.asset.browser_download_url ?? null;
  if (!wanted) return { action: "up-to-date", current, latest: release.version, url };
  if (options.check) return { action: "available", current, target: release.version, url };

  if (!found) {
    throw new UpdateError(
      "release",
      `flywheel: release ${release.tag} has no binary for ${platform.os}-${platform.arch} (looked for ${archiveName(release.version, platform)})`,
    );
  }
  const { asset, archived } = found;
  const sums = await trustedChecksums(release, options.releasePublicKey ?? RELEASE_PUBLIC_KEY, http);
  const expected = sums.get(asset.name);
  if (!expected) {
    throw new UpdateError("checksum", `flywheel: ${CHECKSUMS_ASSET} of ${release.tag} has no entry for ${asset.name}; refusing to install it`);
  }

  log(`downloading ${asset.name} from ${asset.browser_download_url}`);
  const downloaded = await downloadAsset(asset, { ...http, onProgress: options.onProgress });
  verifyChecksum(asset.name, downloaded, expected);
  log(`verified sha256 ${expected} (${formatBytes(downloaded.byteLength)})`);
  // Only verified bytes are unpacked: the archive's checksum vouches for what is inside it.
  const bytes = archived ? executableFromArchive(asset.name, release.tag, downloaded) : downloaded;

  const staged = await stageExecutable(install.execPath, bytes);
  try {
    await (options.verifyStaged ?? runsAsVersion)(staged.path, release.version);
    await staged.commit();
  } finally {
    await staged.discard();
  }
  return { action: "updated", from: current, to: release.version, path: install.execPath };
}

/**
 * The release's `checksums.txt`, parsed, once it may be trusted: present and, when `publicKey` is given,
 * signed by it through `checksums.txt.sig`. Missing assets are refused before anything is downloaded.
 */
async function trustedChecksums(release: Release, publicKey: Uint8Array | undefined, http: HttpOptions): Promise<Map<string, string>> {
  const sumsAsset = findAsset(release, CHECKSUMS_ASSET);
  if (!sumsAsset) {
    throw new UpdateError("checksum", `flywheel: release ${release.tag} has no ${CHECKSUMS_ASSET}; refusing to install a binary that cannot be verified`);
  }
  const sigAsset = findAsset(release, CHECKSUMS_SIGNATURE_ASSET);
  if (publicKey && !sigAsset) {
    throw new UpdateError(
      "checksum",
      `flywheel: release ${release.tag} has no ${CHECKSUMS_SIGNATURE_ASSET}, and this flywheel only installs releases signed with its release key; nothing was changed (ask the publisher to sign the release, or download and verify it by hand)`,
    );
  }
  const sums = await downloadAsset(sumsAsset, http);
  if (publicKey && sigAsset) await assertSignedChecksums(release.tag, sums, await downloadAsset(sigAsset, http), publicKey);
  return parseChecksums(new TextDecoder().decode(sums));
}

/**
 * Default staged-binary check: the file must start and report `expected` from `version --json`. The checksum
 * proves the bytes are the published ones; this proves they run here (right OS, CPU, libc) before we commit.
 */
async function runsAsVersion(path: string, expected: string): Promise<void> {
  const fail = (why: string) =>
    new UpdateError("checksum", `flywheel: the downloaded flywheel ${expected} does not run on this machine (${why}); nothing was changed`);
  let proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  try {
    proc = Bun.spawn([path, "version", "--json"], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      env: stagedRunEnv(process.env),
      timeout: 30_000,
    });
  } catch (cause) {
    throw fail(cause instanceof Error ? cause.message : String(cause));
  }
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw fail(`exit ${code ?? proc.signalCode}: ${err.trim().split("\n")[0] ?? ""}`);
  let reported: unknown;
  try {
    reported = (JSON.parse(out) as { version?: unknown }).version;
  } catch {
    throw fail(`unexpected output ${JSON.stringify(out.slice(0, 80))}`);
  }
  if (reported !== expected) throw fail(`it reports version ${JSON.stringify(reported)}`);
}

/**
 * The environment of the staged binary's test run: `PATH` and `HOME` from ours, and the update check turned
 * off. Nothing else is passed: the download is not trusted to run yet, and our environment may hold tokens and
 * database URLs (FLYWHEEL_*, cloud credentials) that a tampered binary would exfiltrate.
 */
function stagedRunEnv(parent: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = { FLYWHEEL_NO_UPDATE_CHECK: "1" };
  for (const name of ["PATH", "HOME"]) {
    const value = parent[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}
