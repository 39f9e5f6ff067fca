import { type CommandKind, validateCommandArgs } from "../../workers/index.ts";
import { explainArgIssue } from "./issues.ts";
import { splitDotPath } from "./locate.ts";
import { pathProblem, resolveCommandPaths } from "./paths.ts";

/** Records one config problem at a key path; resolve.ts turns these into a {@link ConfigError}. */
export type IssueSink = (path: (string | number)[], message: string) => void;

/**
 * A command worker's args as a schedule or binding gives them (under the worker's own key, e.g. `shell:`):
 * checked by the worker's schema and with relative paths resolved against `baseDir`. Each problem goes to `at`
 * under `base` (the entry's key path), worded for that worker; the args come back as given when there are any.
 */
export function resolveWorkerArgs(
  kind: CommandKind,
  rawArgs: Record<string, unknown>,
  base: (string | number)[],
  baseDir: string,
  at: IssueSink,
): Record<string, unknown> {
  const argIssues = validateCommandArgs(kind, rawArgs);
  for (const issue of argIssues) {
    const path = splitDotPath(issue.path);
    at([...base, kind, ...path], explainArgIssue(kind, path, issue.message, rawArgs));
  }
  if (argIssues.length > 0) return rawArgs;
  const resolved = resolveCommandPaths(kind, rawArgs, baseDir);
  for (const p of resolved.paths) {
    const problem = pathProblem(p.path, p.mustBe);
    if (problem) at([...base, kind, p.key], problem);
  }
  return resolved.args;
}
