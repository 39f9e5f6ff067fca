/**
 * The soak's jobs: `noop` jobs numbered `n = 0…N-1` (args `{ n }`), and every `shellEvery`-th one a `shell` job
 * running {@link SHELL_ATTEMPT} with a log of its own, `shell/<n>.log`. They are written with the library's
 * `insertMany` in chunks, before any node starts.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type InsertManyItem } from "../../src/index.ts";
import { shellWorker } from "../../src/workers/index.ts";

/**
 * One attempt of a soak shell job (POSIX sh). `$1`: seconds to sleep, in a child. Env: `LOG` (this job's log),
 * `SOAK_TOKEN`. It appends `start <ns> <pid>`, then `pids <its pid> <the child's pid>`, then `end <ns> <pid>`;
 * and it first looks for any process of an earlier attempt still alive (a recorded pid whose environment still
 * names this log: a reused pid does not count) and appends `alive <pid>` for each, which must never happen.
 */
export const SHELL_ATTEMPT = `# soak shell job: see bench/soak/workload.ts
echo "start $(date +%s%N) $$" >> "$LOG"
for pid in $(sed -n 's/^pids //p' "$LOG"); do
  if tr '\\0' '\\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx "LOG=$LOG"; then echo "alive $pid" >> "$LOG"; fi
done
sleep "$1" &
echo "pids $$ $!" >> "$LOG"
wait
echo "end $(date +%s%N) $$" >> "$LOG"
`;

/** Where the workload's files are and what it holds. */
export interface Workload {
  /** Ids in `n` order. */
  ids: string[];
  /** `n` of every shell job. */
  shellIndexes: number[];
  /** The directory of the shell jobs' logs. */
  shellDir: string;
}

/** How to build the workload. */
export interface WorkloadOptions {
  url: string;
  dir: string;
  jobs: number;
  shellEvery: number;
  token: string;
  random: () => number;
  report: (line: string) => void;
}

const CHUNK = 10_000;

/** Migrates the fresh database and inserts every job; returns their ids. */
export async function insertWorkload(o: WorkloadOptions): Promise<Workload> {
  const shellDir = join(o.dir, "shell");
  mkdirSync(shellDir, { recursive: true });
  const script = join(o.dir, "attempt.sh");
  writeFileSync(script, SHELL_ATTEMPT);
  const fw = await connect(o.url);
  // The worker definition as the kind: its args schema checks every shell job at insert.
  const shell = shellWorker();
  try {
    await fw.migrate();
    const ids: string[] = [];
    const shellIndexes: number[] = [];
    for (let from = 0; from < o.jobs; from += CHUNK) {
      const items: InsertManyItem[] = [];
      for (let n = from; n < Math.min(from + CHUNK, o.jobs); n++) {
        if (o.shellEvery > 0 && n % o.shellEvery === o.shellEvery - 1) {
          shellIndexes.push(n);
          // 50–300 ms in a child: long enough that a kill often lands mid-command.
          const seconds = (0.05 + o.random() * 0.25).toFixed(3);
          items.push({ kind: shell, args: { script, args: [seconds], env: { LOG: join(shellDir, `${n}.log`), SOAK_TOKEN: o.token } } });
        } else {
          items.push({ kind: "noop", args: { n } });
        }
      }
      const inserted = await fw.insertMany(items);
      if (inserted.skipped.length > 0) throw new Error(`soak: insertMany skipped ${inserted.skipped.length} jobs of a fresh database`);
      ids.push(...inserted);
      if ((from / CHUNK) % 20 === 19) o.report(`inserted ${ids.length.toLocaleString("en-US")} jobs`);
    }
    return { ids, shellIndexes, shellDir };
  } finally {
    await fw.close();
  }
}
