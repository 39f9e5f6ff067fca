// A schedule's jitter (SPEC §20): each fire's job waits an offset below `jitter`, the same for every fire of a
// slug. Stable, so a schedule keeps its rhythm (a 03:00 backup with 10m jitter always starts at, say, 03:04)
// and every node computes the same; spread by a hash of the slug, so many schedules on one minute, or many
// hosts running the same config with their own slugs, do not start at once.

/** FNV-1a, 32-bit: small, fast and well spread over short strings; no cryptographic strength is needed. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * The delay of each fire of `slug`: an offset in [0, `jitterMs`) from a hash of the slug, in whole
 * milliseconds; 0 when `jitterMs` is null or below 1.
 * @example jitterOffsetMs("nightly-backup", 600_000) // the same number on every node, every fire
 */
export function jitterOffsetMs(slug: string, jitterMs: number | null): number {
  if (jitterMs === null || jitterMs < 1) return 0;
  return fnv1a(slug) % Math.floor(jitterMs);
}
