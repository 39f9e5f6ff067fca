/**
 * EXPLAIN for PostgreSQL statement builders, outside the production driver: the plan tests build the exact
 * statement the driver runs (`claimStatement`) and ask the server how it would run it, claiming nothing.
 */
import { newId } from "../../src/core/id.ts";
import type { PostgresDriver } from "../../src/driver/postgres/index.ts";
import { claimStatement } from "../../src/driver/postgres/claim.ts";
import type { SqlStatement } from "../../src/driver/postgres/params.ts";
import { schemaNames } from "../../src/driver/postgres/tables.ts";
import type { ClaimParams } from "../../src/driver/types.ts";

/** How to explain: `generic` plans without the parameter values; `format` picks the text or JSON plan. */
export interface ExplainOptions {
  generic?: boolean;
  format?: "text" | "json";
}

/** `EXPLAIN` of the claim statement `driver` would run for `p`. See {@link explainStatement}. */
export function explainClaim(driver: PostgresDriver, p: ClaimParams, options: ExplainOptions = {}): Promise<string> {
  return explainStatement(driver, claimStatement(schemaNames(driver.schema), p), options);
}

/**
 * `EXPLAIN` (without ANALYZE: nothing runs) of `statement` on `driver`'s pool. `generic: true` shows the generic plan that PostgreSQL may switch a prepared statement to after
 * five executions, planned without the parameter values. Returns the text plan, or with `format: "json"` the JSON plan.
 */
export async function explainStatement(driver: PostgresDriver, statement: SqlStatement, options: ExplainOptions = {}): Promise<string> {
  const format = options.format === "json" ? "FORMAT JSON" : "FORMAT TEXT";
  return (await driver.sql.begin(async (tx) => {
    let rows: Array<Record<string, unknown>>;
      if (options.generic) {
        // EXPLAIN of a statement with bound parameters plans it for those values; only EXPLAIN EXECUTE of a
        // prepared statement under force_generic_plan shows the plan that ignores them.
        const name = `flywheel_explain_${newId().replaceAll("-", "")}`;
        await tx.unsafe(`PREPARE ${name} AS ${statement.text}`);
        await tx.unsafe("SET LOCAL plan_cache_mode = force_generic_plan");
        // A utility statement's bind parameters get no types from the statement they feed, so the arguments go
        // in as literals (the claim's parameters are dates, numbers, strings and string arrays only).
        const args = statement.params.map(sqlLiteral).join(", ");
        rows = await tx.unsafe(`EXPLAIN (COSTS OFF, ${format}) EXECUTE ${name}(${args})`);
        await tx.unsafe(`DEALLOCATE ${name}`);
      } else {
        rows = await tx.unsafe(`EXPLAIN (COSTS OFF, ${format}) ${statement.text}`, statement.params);
      }
      return options.format === "json" ? JSON.stringify(rows[0]!["QUERY PLAN"]) : rows.map((r) => r["QUERY PLAN"] as string).join("\n");
  })) as string;
}

/** A literal for EXPLAIN EXECUTE; standard_conforming_strings (on since PostgreSQL 9.1) makes doubling quotes enough. */
function sqlLiteral(value: unknown): string {
  if (Array.isArray(value)) return `ARRAY[${value.map(sqlLiteral).join(",")}]::text[]`;
  if (value instanceof Date) return `'${value.toISOString()}'::timestamptz`;
  if (typeof value === "number") return String(Math.trunc(value));
  return `'${String(value).replaceAll("'", "''")}'`;
}

/** A node of PostgreSQL's JSON plan (`EXPLAIN (FORMAT JSON)`), the fields the plan tests read. */
export interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Parent Relationship"?: string;
  "Subplan Name"?: string;
  Plans?: PlanNode[];
}

/** Every node of a plan, depth first from `node`. */
export function* walkPlan(node: PlanNode): Generator<PlanNode> {
  yield node;
  for (const child of node.Plans ?? []) yield* walkPlan(child);
}
