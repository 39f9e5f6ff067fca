/** Positional parameters for one statement: `add` binds a value and returns its placeholder. */
export class Params {
  readonly values: any[] = [];
  add(value: unknown): string {
    return `$${this.values.push(value)}`;
  }
}

/** An SQL text with its positional parameters, ready for `unsafe`. */
export interface SqlStatement {
  text: string;
  params: any[];
}

/**
 * A `LIMIT` spelled into the text, not bound: planning a reused prepared statement without its value (the
 * generic plan PostgreSQL switches to after five runs) guesses a large LIMIT and then hash-joins the update
 * against a sequential scan of jobs. One statement per limit value (1…concurrency) is cheap.
 */
export function literalLimit(limit: number): number {
  return Math.max(1, Math.trunc(limit));
}
