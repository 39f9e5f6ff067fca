/**
 * A prepared statement keeps the plan PostgreSQL chose for the tables as they were; one made while `jobs` and
 * `job_runs` were nearly empty goes on scanning them whole once they are not (a fresh schema's first drain
 * slowed threefold). The job path's statements therefore carry a plan epoch that moves each time this driver's
 * writes to either table grow fourfold, so they are prepared, and planned, anew a bounded number of times.
 */
export class PlanEpoch {
  /** Rows this driver has added to `jobs` (inserted) and to `job_runs` (claimed): how far the tables grew under its cached plans. */
  #grown = { jobs: 0, runs: 0 };

  /** Counts rows inserted into `jobs`. */
  jobsAdded(rows: number): void {
    this.#grown.jobs += rows;
  }

  /** Counts run stubs claimed into `job_runs`. */
  runsAdded(rows: number): void {
    this.#grown.runs += rows;
  }

  /** `text` tagged with the current epoch: a new text, hence a new prepared statement, once per fourfold growth. */
  tag(text: string): string {
    return `${text} /* plan ${epoch(this.#grown.jobs)}.${epoch(this.#grown.runs)} */`;
  }
}

/** Changes each time `rows` grows fourfold. */
function epoch(rows: number): number {
  return Math.floor(Math.log2(rows + 1) / 2);
}
