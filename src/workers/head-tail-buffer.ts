/**
 * Keeps the first and last bytes of a stream within a fixed budget: memory stays bounded however much the
 * process writes, and the report shows both how it started and how it ended.
 */
export class HeadTailBuffer {
  readonly #headCap: number;
  readonly #tailCap: number;
  readonly #head: Uint8Array[] = [];
  #headLen = 0;
  // Ring buffer, allocated on first overflow so quiet commands cost nothing.
  #ring: Uint8Array | undefined;
  #ringEnd = 0;
  #ringLen = 0;
  #total = 0;

  /** @param maxBytes bytes kept in all: half for the head, the rest for the tail. */
  constructor(maxBytes: number) {
    this.#headCap = Math.floor(maxBytes / 2);
    this.#tailCap = maxBytes - this.#headCap;
  }

  /** Bytes seen, kept or not. */
  get totalBytes(): number {
    return this.#total;
  }

  /** Whether bytes were dropped between head and tail. */
  get truncated(): boolean {
    return this.#total > this.#headCap + this.#tailCap;
  }

  /** Appends a chunk; bytes beyond the budget overwrite the oldest tail bytes. */
  push(chunk: Uint8Array): void {
    this.#total += chunk.byteLength;
    const take = Math.min(this.#headCap - this.#headLen, chunk.byteLength);
    if (take > 0) {
      this.#head.push(chunk.slice(0, take));
      this.#headLen += take;
      chunk = chunk.subarray(take);
    }
    if (chunk.byteLength === 0 || this.#tailCap === 0) return;
    const ring = (this.#ring ??= new Uint8Array(this.#tailCap));
    const cap = this.#tailCap;
    if (chunk.byteLength >= cap) {
      ring.set(chunk.subarray(chunk.byteLength - cap));
      this.#ringEnd = 0;
      this.#ringLen = cap;
      return;
    }
    const first = Math.min(chunk.byteLength, cap - this.#ringEnd);
    ring.set(chunk.subarray(0, first), this.#ringEnd);
    ring.set(chunk.subarray(first), 0);
    this.#ringEnd = (this.#ringEnd + chunk.byteLength) % cap;
    this.#ringLen = Math.min(cap, this.#ringLen + chunk.byteLength);
  }

  /** The kept bytes as UTF-8, with a marker saying how many bytes were left out when truncated. */
  text(): string {
    const decoder = new TextDecoder();
    const head = Buffer.concat(this.#head);
    const ring = this.#ring;
    let tail: Uint8Array = new Uint8Array(0);
    if (ring) {
      // Until the ring first fills, it holds its bytes in order from index 0.
      tail = this.#ringLen < this.#tailCap ? ring.subarray(0, this.#ringLen) : Buffer.concat([ring.subarray(this.#ringEnd), ring.subarray(0, this.#ringEnd)]);
    }
    // Decode in one piece when nothing was dropped, so a character split across head and tail survives.
    if (!this.truncated) return decoder.decode(Buffer.concat([head, tail]));
    const omitted = this.#total - this.#headLen - this.#ringLen;
    return `${decoder.decode(head)}\n[flywheel: ${omitted} bytes omitted]\n${decoder.decode(tail)}`;
  }
}
