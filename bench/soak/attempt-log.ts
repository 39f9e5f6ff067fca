/**
 * The jobs' own record of their attempts, independent of flywheel's audit trail. Every attempt of a `noop`
 * job appends one line `<job id> <n> <attempt> <start ns> <end ns>` to its node process's file, where `n` is
 * the job's index in the soak and the times are CLOCK_MONOTONIC nanoseconds ({@link monotonicNs}), one clock
 * for every process of the machine, so attempts in different processes compare directly.
 *
 * The file is opened with O_APPEND and written with one `write(2)` per line: once the call returns, the line
 * is in the kernel's page cache, so it survives the SIGKILL of the process that wrote it.
 */
import { dlopen, FFIType } from "bun:ffi";
import { closeSync, openSync, readdirSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";

const CLOCK_MONOTONIC = 1;
// Linux only, like the rest of the soak (it reads /proc too).
const libc = dlopen("libc.so.6", {
  clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
});
/** A `struct timespec`: 64-bit seconds and nanoseconds on 64-bit Linux. */
const timespec = new BigInt64Array(2);

/**
 * The machine's CLOCK_MONOTONIC in nanoseconds, read with clock_gettime(2) through FFI. Neither Bun clock
 * would do: `process.hrtime` and `Bun.nanoseconds()` count from the start of the calling process, and
 * `Date.now()` has millisecond resolution and can step. About 0.2 µs per call.
 */
export function monotonicNs(): bigint {
  if (libc.symbols.clock_gettime(CLOCK_MONOTONIC, timespec) !== 0) throw new Error("soak: clock_gettime(CLOCK_MONOTONIC) failed");
  return timespec[0]! * 1_000_000_000n + timespec[1]!;
}

/** The append-only attempt file of one node process. */
export class AttemptLog {
  readonly #fd: number;

  /** Opens (creating) `path` for appending. */
  constructor(path: string) {
    this.#fd = openSync(path, "a");
  }

  /** Appends one attempt: the job, its index, the attempt number and when the work began and ended. */
  record(jobId: string, n: number, attempt: number, startNs: bigint, endNs: bigint): void {
    writeSync(this.#fd, `${jobId} ${n} ${attempt} ${startNs} ${endNs}\n`);
  }

  /** Closes the file. */
  close(): void {
    closeSync(this.#fd);
  }
}

/**
 * Every attempt line of every node, as columns (a million attempts fit in a few tens of MB this way, where
 * objects would take hundreds). Times are nanoseconds as float64, exact while the machine's uptime is under
 * 2^53 ns (104 days); beyond that they round to a few nanoseconds, still far finer than any gap that matters.
 */
export interface AttemptColumns {
  count: number;
  n: Int32Array;
  attempt: Int32Array;
  start: Float64Array;
  end: Float64Array;
  /** Which file (node process) each line came from, as an index into `files`. */
  file: Int32Array;
  files: string[];
  /** Lines that did not parse (a torn last line would show up here). */
  malformed: string[];
}

/** Reads every `*.log` in `dir`. */
export function readAttemptLogs(dir: string): AttemptColumns {
  const files = readdirSync(dir).filter((f) => f.endsWith(".log")).sort();
  const texts = files.map((f) => readFileSync(join(dir, f), "latin1"));
  let capacity = 0;
  for (const text of texts) for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) capacity++;
  const columns: AttemptColumns = {
    count: 0,
    n: new Int32Array(capacity),
    attempt: new Int32Array(capacity),
    start: new Float64Array(capacity),
    end: new Float64Array(capacity),
    file: new Int32Array(capacity),
    files,
    malformed: [],
  };
  texts.forEach((text, fileIndex) => {
    for (const line of text.split("\n")) {
      if (line === "") continue;
      const parts = line.split(" ");
      const [n, attempt, start, end] = [Number(parts[1]), Number(parts[2]), Number(parts[3]), Number(parts[4])];
      if (parts.length !== 5 || ![n, attempt, start, end].every(Number.isFinite) || columns.count >= capacity) {
        columns.malformed.push(`${files[fileIndex]}: ${line}`);
        continue;
      }
      const i = columns.count++;
      columns.n[i] = n;
      columns.attempt[i] = attempt;
      columns.start[i] = start;
      columns.end[i] = end;
      columns.file[i] = fileIndex;
    }
  });
  return columns;
}
