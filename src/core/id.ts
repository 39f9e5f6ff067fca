/** A new UUIDv7: time-ordered, so ids sort by creation. Used for jobs, runs, periodics and lease tokens. */
export function newId(): string {
  return Bun.randomUUIDv7();
}
