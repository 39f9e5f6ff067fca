import type { WorkerDefinition } from "../core/types.ts";

/** Kind → worker. A later registration of the same kind replaces the earlier one. */
export class WorkerRegistry {
  readonly #workers = new Map<string, WorkerDefinition<any, any>>();

  /** Registers workers by their kind, with the workers they bring along (a flow's step worker). */
  register(...workers: WorkerDefinition<any, any>[]): void {
    for (const worker of workers) {
      this.#workers.set(worker.kind, worker);
      const companions = (worker as { companions?: readonly WorkerDefinition<any, any>[] }).companions;
      if (companions) this.register(...companions);
    }
  }

  /** The worker registered for `kind`, if any. */
  get(kind: string): WorkerDefinition<any, any> | undefined {
    return this.#workers.get(kind);
  }

  /** Kinds with a registered worker, sorted. */
  get kinds(): string[] {
    return [...this.#workers.keys()].sort();
  }
}
