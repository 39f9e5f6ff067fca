/**
 * The few bytes of ustar (POSIX.1-1988 tar) a release archive needs: `build.ts` writes one regular file per
 * archive, and self-update reads that file back out. Hand-written because Bun has gzip (`Bun.gzipSync`) but no
 * tar, and the runtime binary must not shell out to `tar`. The reader also takes what GNU tar and bsdtar write
 * for the same file (a `./` prefix, the ustar `prefix` field, a pax `path` record), so an archive repacked by
 * hand still installs.
 */

const BLOCK = 512;

/** One regular file to put in an archive. */
export interface TarFile {
  /** Path inside the archive, at most 100 bytes (all a release archive needs). */
  name: string;
  bytes: Uint8Array;
  /** Permission bits, e.g. `0o755`. */
  mode: number;
  /** Modification time in whole seconds since the epoch. */
  mtime: number;
}

/**
 * A ustar archive of `files`, each owned by uid/gid 0 (`root`), ending with the two zero blocks tar expects.
 * Throws on a name longer than 100 bytes rather than writing a header that other tools would misread.
 */
export function writeTar(files: readonly TarFile[]): Uint8Array<ArrayBuffer> {
  const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;
  const total = files.reduce((sum, f) => sum + BLOCK + padded(f.bytes.byteLength), 2 * BLOCK);
  const tar = new Uint8Array(total);
  let offset = 0;
  for (const file of files) {
    tar.set(header(file), offset);
    tar.set(file.bytes, offset + BLOCK);
    offset += BLOCK + padded(file.bytes.byteLength);
  }
  return tar;
}

function header(file: TarFile): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const put = (offset: number, length: number, text: string) => {
    const bytes = new TextEncoder().encode(text);
    if (bytes.byteLength > length) throw new Error(`tar: ${JSON.stringify(text)} does not fit in ${length} bytes`);
    h.set(bytes, offset);
  };
  const octal = (offset: number, length: number, value: number) => put(offset, length, `${value.toString(8).padStart(length - 1, "0")}\0`);
  put(0, 100, file.name);
  octal(100, 8, file.mode & 0o7777);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, file.bytes.byteLength);
  octal(136, 12, Math.max(0, Math.floor(file.mtime)));
  put(148, 8, " ".repeat(8));
  put(156, 1, "0");
  put(257, 6, "ustar\0");
  put(263, 2, "00");
  put(265, 32, "root");
  put(297, 32, "root");
  put(148, 8, `${checksum(h).toString(8).padStart(6, "0")}\0 `);
  return h;
}

/** The header checksum: the byte sum of the header with its own checksum field counted as eight spaces. */
function checksum(h: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum;
}

/** A file found in an archive by {@link readTarFile}. */
export interface TarEntry {
  bytes: Uint8Array;
  mode: number;
}

/**
 * The regular file called `name` at the top of the archive `tar` (a leading `./` is ignored), or `undefined`
 * when there is none. Throws a one-line `Error` on an archive that is not tar at all (bad header checksum, a
 * size past the end), so callers can tell "not in the archive" from "not an archive". The bytes returned are a
 * view into `tar`, not a copy.
 */
export function readTarFile(tar: Uint8Array, name: string): TarEntry | undefined {
  let offset = 0;
  let paxPath: string | undefined;
  while (offset + BLOCK <= tar.byteLength) {
    const h = tar.subarray(offset, offset + BLOCK);
    if (h.every((b) => b === 0)) return undefined;
    if (readOctal(h, 148, 8) !== checksum(h)) throw new Error(`not a tar archive (bad header checksum at byte ${offset})`);
    const size = readOctal(h, 124, 12);
    if (Number.isNaN(size)) throw new Error(`tar header at byte ${offset} has no octal size`);
    const start = offset + BLOCK;
    if (start + size > tar.byteLength) throw new Error(`tar archive truncated (an entry of ${size} bytes runs past its end)`);
    const body = tar.subarray(start, start + size);
    const type = String.fromCharCode(h[156]!);
    if (type === "x") {
      paxPath = paxRecord(body, "path");
    } else {
      const path = paxPath ?? ustarPath(h);
      paxPath = undefined;
      // '0' and NUL are regular files; '7' (contiguous) is one too for every reader that matters.
      if ((type === "0" || type === "\0" || type === "7") && path.replace(/^(\.\/)+/, "") === name) {
        return { bytes: body, mode: readOctal(h, 100, 8) };
      }
    }
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  return undefined;
}

function ustarPath(h: Uint8Array): string {
  const name = readString(h, 0, 100);
  const isUstar = readString(h, 257, 6) === "ustar";
  const prefix = isUstar ? readString(h, 345, 155) : "";
  return prefix ? `${prefix}/${name}` : name;
}

function readString(h: Uint8Array, offset: number, length: number): string {
  const field = h.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return new TextDecoder().decode(end === -1 ? field : field.subarray(0, end));
}

function readOctal(h: Uint8Array, offset: number, length: number): number {
  const text = readString(h, offset, length).trim();
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : Number.NaN;
}

/** The value of `key` in a pax extended header (`<length> <key>=<value>\n` records, length in bytes), if present. */
function paxRecord(body: Uint8Array, key: string): string | undefined {
  let found: string | undefined;
  let i = 0;
  while (i < body.byteLength) {
    const space = body.indexOf(0x20, i);
    const length = space === -1 ? Number.NaN : Number(new TextDecoder().decode(body.subarray(i, space)));
    if (!Number.isInteger(length) || length <= 0) break;
    const record = new TextDecoder().decode(body.subarray(space + 1, i + length - 1));
    const eq = record.indexOf("=");
    if (eq !== -1 && record.slice(0, eq) === key) found = record.slice(eq + 1);
    i += length;
  }
  return found;
}
