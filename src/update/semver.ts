import { ValidationError } from "../core/errors.ts";

/** A parsed `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]` version; build metadata is dropped (it never orders). */
export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  /** Dot-separated prerelease identifiers; empty for a release. */
  prerelease: string[];
}

const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$/;

/**
 * Parses a version as tags and `package.json` write it; a leading `v` is accepted because GitHub tags carry one.
 * Returns `undefined` for anything else, so callers can name the bad value in their own message.
 */
export function parseVersion(text: string): SemVer | undefined {
  const m = SEMVER.exec(text.trim());
  if (!m) return undefined;
  return {
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: Number(m[3]),
    prerelease: m[4] ? m[4].split(".") : [],
  };
}

/** The version without a leading `v`, for asset names and messages (`v1.2.3` → `1.2.3`). */
export function stripV(version: string): string {
  return version.trim().replace(/^v/, "");
}

/**
 * Orders two versions by semver precedence: negative when `a < b`, 0 when equal, positive when `a > b`.
 * A prerelease sorts before its release (`1.0.0-rc.1 < 1.0.0`); numeric identifiers compare as numbers
 * (`rc.10 > rc.9`). Throws a `ValidationError` on a string that is not a version, because a silent guess here
 * would decide whether a binary gets replaced.
 */
export function compareVersions(a: string, b: string): number {
  const va = parseVersion(a);
  const vb = parseVersion(b);
  if (!va) throw new ValidationError(`flywheel: ${JSON.stringify(a)} is not a version (expected MAJOR.MINOR.PATCH)`);
  if (!vb) throw new ValidationError(`flywheel: ${JSON.stringify(b)} is not a version (expected MAJOR.MINOR.PATCH)`);
  const core = va.major - vb.major || va.minor - vb.minor || va.patch - vb.patch;
  if (core !== 0) return Math.sign(core);
  return comparePrerelease(va.prerelease, vb.prerelease);
}

function comparePrerelease(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return Math.sign(b.length - a.length);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const xn = /^\d+$/.test(x);
    const yn = /^\d+$/.test(y);
    if (xn && yn) return Math.sign(Number(x) - Number(y));
    // Numeric identifiers have lower precedence than alphanumeric ones (semver §11.4.3).
    if (xn !== yn) return xn ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return 0;
}
