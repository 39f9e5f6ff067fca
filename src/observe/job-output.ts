import type { Logger } from "../core/logger.ts";
import type { Job } from "../core/types.ts";
import type { OutputLine } from "../workers/output-lines.ts";
import { jobLogFields } from "./job-log.ts";

/**
 * The `onOutputLine` of the command workers that writes each line a job prints to `logger` (what
 * `log.job_output: true` turns on), the way supercronic does: the line is the message, tagged with
 * `channel=stdout|stderr` and the job's fields (`job_id`, `kind`, `schedule`, `run_id`, `attempt`), plus
 * `cut_bytes` when the line was longer than the cap. Both channels log at `info`: many programs write progress
 * and diagnostics to stderr, so the channel says where a line came from, not how bad it is; `log.level: warn`
 * hides job output. `logger` must not collapse repeated lines (flywheel's own never does; consola would).
 * @example commandWorkers({ onOutputLine: jobOutputLogger(logger) });
 */
export function jobOutputLogger(logger: Logger): (job: Job<unknown>, line: OutputLine) => void {
  return (job, line) => {
    const periodic = job.metadata.periodic;
    const fields = jobLogFields({ ...job, periodic: typeof periodic === "string" ? periodic : undefined });
    logger.info(line.text, { channel: line.channel, ...fields, cut_bytes: line.cutBytes > 0 ? line.cutBytes : undefined });
  };
}
