import { COMMAND_WORKER_DEFAULTS } from "../core/defaults.ts";
import type { Job } from "../core/types.ts";

/** Which stream of a command a line came from. */
export type OutputChannel = "stdout" | "stderr";

/** One line a command wrote, without its line ending. */
export interface OutputLine {
  channel: OutputChannel;
  /**
   * The line as UTF-8 text: bytes that are not UTF-8 become U+FFFD, so binary output reads as replacement
   * characters rather than breaking whatever receives it. Control characters are left as they are; the logger
   * escapes them.
   */
  text: string;
  /** Bytes dropped from the end of a line longer than the cap; 0 for a whole line. */
  cutBytes: number;
}

/**
 * Longest line forwarded whole, in bytes; the rest of a longer line is counted, not kept. Log shippers split or
 * refuse lines far longer than this (Docker at 16 KiB), and a log line is for reading, not for carrying data.
 */
export const OUTPUT_LINE_MAX_BYTES = COMMAND_WORKER_DEFAULTS.outputLineMaxBytes;

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * Splits one stream of a command into lines as its bytes arrive, handing each complete line to `emit` at once:
 * a line is forwarded when its newline is read, not when the command ends. Memory stays within `maxLineBytes`
 * whatever the command writes; a line longer than that keeps its start and reports how much was cut. A
 * trailing `\r` (CRLF output) is dropped. Call {@link end} when the stream closes, to flush a last line that
 * has no newline.
 */
export class LineSplitter {
  readonly #channel: OutputChannel;
  readonly #maxLineBytes: number;
  readonly #emit: (line: OutputLine) => void;
  readonly #decoder = new TextDecoder();
  readonly #kept: Uint8Array[] = [];
  #keptLen = 0;
  #cut = 0;

  constructor(channel: OutputChannel, emit: (line: OutputLine) => void, maxLineBytes: number = OUTPUT_LINE_MAX_BYTES) {
    this.#channel = channel;
    this.#emit = emit;
    this.#maxLineBytes = Math.max(1, Math.floor(maxLineBytes));
  }

  /** Feeds the next chunk of the stream; emits every line it completes. */
  push(chunk: Uint8Array): void {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(NEWLINE, start);
      this.#keep(chunk.subarray(start, newline === -1 ? chunk.byteLength : newline));
      if (newline === -1) return;
      this.#flush();
      start = newline + 1;
    }
  }

  /** The stream closed: emits the last line if it had no newline. */
  end(): void {
    if (this.#keptLen > 0 || this.#cut > 0) this.#flush();
  }

  #keep(bytes: Uint8Array): void {
    const room = this.#maxLineBytes - this.#keptLen;
    const take = Math.min(room, bytes.byteLength);
    if (take > 0) {
      // Copied: the stream may reuse the chunk's memory for its next read.
      this.#kept.push(bytes.slice(0, take));
      this.#keptLen += take;
    }
    this.#cut += bytes.byteLength - take;
  }

  #flush(): void {
    let bytes = this.#kept.length === 1 ? this.#kept[0]! : Buffer.concat(this.#kept);
    let cut = this.#cut;
    if (cut === 0 && bytes.byteLength > 0 && bytes[bytes.byteLength - 1] === CARRIAGE_RETURN) bytes = bytes.subarray(0, bytes.byteLength - 1);
    if (cut > 0) {
      // Cut on a character boundary: a UTF-8 sequence split by the cap would decode as a stray U+FFFD.
      const end = characterBoundary(bytes);
      cut += bytes.byteLength - end;
      bytes = bytes.subarray(0, end);
    }
    this.#kept.length = 0;
    this.#keptLen = 0;
    this.#cut = 0;
    this.#emit({ channel: this.#channel, text: this.#decoder.decode(bytes), cutBytes: cut });
  }
}

/** The largest length ≤ `bytes.byteLength` that does not end inside a UTF-8 sequence. */
function characterBoundary(bytes: Uint8Array): number {
  let end = bytes.byteLength;
  // Step back over continuation bytes (10xxxxxx) to the sequence's lead byte, at most 3 of them.
  let i = end - 1;
  while (i >= 0 && end - i <= 4 && (bytes[i]! & 0xc0) === 0x80) i--;
  if (i < 0) return end;
  const lead = bytes[i]!;
  const length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  if (i + length > end) end = i;
  return end;
}

/**
 * The `onLine` a spawn of `job` gets from a worker's `onOutputLine`, or undefined when there is none (no
 * splitting cost then). The callback runs inside the pipe reader, where a throw would stop the reading and
 * leave the command blocked on a full pipe: the first throw is logged on the job's logger and forwarding
 * stops for that job; the capture goes on.
 */
export function lineForwarder(
  job: Job<unknown>,
  onOutputLine: ((job: Job<unknown>, line: OutputLine) => void) | null,
): ((line: OutputLine) => void) | undefined {
  if (!onOutputLine) return undefined;
  let broken = false;
  return (line) => {
    if (broken) return;
    try {
      onOutputLine(job, line);
    } catch (error) {
      broken = true;
      job.logger.warn("jobs: onOutputLine threw; no more output lines of this job are forwarded", { error: (error as Error)?.message ?? String(error) });
    }
  };
}
