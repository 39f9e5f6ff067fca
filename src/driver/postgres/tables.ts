import { CLAIMABLE_SQL } from "../sql.ts";
import type { Params } from "./params.ts";

/** flywheel's tables in one schema, each name quoted and schema-qualified, ready to splice into SQL. */
export interface Tables {
  jobs: string;
  runs: string;
  periodics: string;
  migrations: string;
  /** A workflow's memoized steps. */
  steps: string;
  /** The event names a waiting workflow waits for, per attempt. */
  waits: string;
  /** Events emitted to jobs (one latch per job and name). */
  events: string;
  /** The node registry. */
  nodes: string;
  /** Queue state (paused). */
  queues: string;
  /** Topic bindings. */
  bindings: string;
  /** Job history (non-attempt lifecycle changes). */
  history: string;
  /** Limits per kind and queue. */
  limits: string;
  /** The starts log of rate-limited kinds and queues. */
  limitStarts: string;
  /** Circuit breakers per kind. */
  breakers: string;
}

/** Where a driver's statements point: its schema, its tables, and the `LISTEN`/`NOTIFY` channel `<schema>_jobs`. */
export interface SchemaNames {
  /** The schema as configured (a validated plain identifier, unquoted). */
  schema: string;
  t: Tables;
  channel: string;
}

/**
 * What a statement builder needs: the names, and the statement's positional parameters it binds into. Builders
 * that compose (finalize and claim in one statement) share one scope, so their placeholders never collide.
 */
export interface Scope extends SchemaNames {
  ps: Params;
}

/** The names for `schema`, which must already have passed `assertSchemaName`. */
export function schemaNames(schema: string): SchemaNames {
  const q = quoteIdent(schema);
  return {
    schema,
    t: {
      jobs: `${q}.jobs`,
      runs: `${q}.job_runs`,
      periodics: `${q}.job_periodics`,
      migrations: `${q}.flywheel_migrations`,
      steps: `${q}.job_steps`,
      waits: `${q}.job_waits`,
      events: `${q}.job_events`,
      nodes: `${q}.job_nodes`,
      queues: `${q}.job_queues`,
      bindings: `${q}.job_bindings`,
      history: `${q}.job_history`,
      limits: `${q}.job_limits`,
      limitStarts: `${q}.job_limit_starts`,
      breakers: `${q}.job_breakers`,
    },
    channel: `${schema}_jobs`,
  };
}

/** A double-quoted identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `jobs_ready`'s predicate, repeated verbatim so the planner can match the partial index. */
export const READY_PREDICATE = `state IN (${CLAIMABLE_SQL}) AND deleted_at IS NULL`;
