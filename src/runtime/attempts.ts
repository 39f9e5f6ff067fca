/**
 * The attempts running in this process, by job id, so an operator's cancel can abort one at once rather than at
 * its next lease renewal.
 */
export class InflightAttempts {
  readonly #controllers = new Map<string, AbortController>();

  /** Registers a running attempt; returns the function that forgets it. */
  track(jobId: string, controller: AbortController): () => void {
    this.#controllers.set(jobId, controller);
    return () => {
      if (this.#controllers.get(jobId) === controller) this.#controllers.delete(jobId);
    };
  }

  /** Aborts the attempt of `jobId` running here, if any. */
  abort(jobId: string, reason: Error): void {
    this.#controllers.get(jobId)?.abort(reason);
  }
}
