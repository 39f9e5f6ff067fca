import { ConfigError, type ConfigEnv, type ConfigIssue, parseConfig } from "../../src/daemon/config/index.ts";

/** The issues `parseConfig` refuses a config text with, as the loader reports them; `[]` when it loads. */
export function configIssues(text: string, options: { file?: string; env?: ConfigEnv } = {}): ConfigIssue[] {
  try {
    parseConfig(text, { file: options.file ?? "/etc/flywheel/flywheel.yaml", ...(options.env ? { env: options.env } : {}) });
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  return [];
}
