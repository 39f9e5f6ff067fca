import { archiveName, ARCHIVE_EXECUTABLE, assetName, type ReleasePlatform } from "./platform.ts";
import { findAsset, type Release, type ReleaseAsset } from "./release.ts";
import { readTarFile } from "./tar.ts";
import { UpdateError } from "./update-error.ts";

/** The asset of a release that carries one platform's binary, and whether it is an archive or the bare executable. */
export interface PlatformAsset {
  asset: ReleaseAsset;
  /** `true` for `flywheel-<v>-<os>-<arch>.tar.gz`, `false` for the bare `flywheel-<v>-<os>-<arch>`. */
  archived: boolean;
}

/**
 * The asset self-update downloads for `platform`: the versioned `.tar.gz` when the release has one (about half
 * the bytes), else the bare executable that releases made before archives existed carry. `undefined` when the
 * release has neither. The unversioned `flywheel-<os>-<arch>.tar.gz` is never used here: a pinned release
 * must be installed by the name that states its version.
 */
export function platformAsset(release: Release, platform: ReleasePlatform): PlatformAsset | undefined {
  const archive = findAsset(release, archiveName(release.version, platform));
  if (archive) return { asset: archive, archived: true };
  const bare = findAsset(release, assetName(release.version, platform));
  return bare ? { asset: bare, archived: false } : undefined;
}

/**
 * The executable inside a downloaded, checksum-verified release archive: gunzip, then the regular file
 * `flywheel` at the archive's top. Throws {@link UpdateError} `release` naming the asset when the bytes are not
 * a gzipped tar or hold no `flywheel`; its checksum already matched, so the publisher built it wrong.
 */
export function executableFromArchive(name: string, tag: string, archive: Uint8Array<ArrayBuffer>): Uint8Array {
  let entry: ReturnType<typeof readTarFile>;
  try {
    entry = readTarFile(Bun.gunzipSync(archive), ARCHIVE_EXECUTABLE);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new UpdateError("release", `flywheel: ${name} of release ${tag} is not a gzipped tar archive (${why}); nothing was changed`, { cause });
  }
  if (!entry) {
    throw new UpdateError("release", `flywheel: ${name} of release ${tag} holds no file named ${ARCHIVE_EXECUTABLE}; nothing was changed`);
  }
  return entry.bytes;
}
