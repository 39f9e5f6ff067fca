import { ValidationError } from "../../core/errors.ts";

// PostgreSQL text and jsonb cannot hold the NUL character or an unpaired UTF-16 surrogate. Input the caller can
// fix (args at insert) is refused with a validation error naming it; data produced after the fact (outputs,
// error messages, follow-ups) is stored with U+FFFD so a finalize never fails on it.

/**
 * What JSON.stringify can emit but PostgreSQL cannot store: the escaped NUL character and escaped unpaired
 * surrogates (a valid pair is emitted raw, never escaped). An even run of backslashes before it is text.
 */
const UNSTORABLE_JSON = /(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/gi;
const UNSTORABLE_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** What to do with a value PostgreSQL cannot store: refuse it (caller's input) or replace the offending characters. */
export type Unstorable = "refuse" | "replace";

/** JSON text with what PostgreSQL cannot store replaced by U+FFFD. */
export function storableJson(json: string): string {
  return json.replace(UNSTORABLE_JSON, "$1\\ufffd");
}

/** Text with NUL and unpaired surrogates (which PostgreSQL text cannot hold) replaced by U+FFFD. */
export function storableText(text: string | null): string | null {
  return text === null ? null : text.replace(UNSTORABLE_TEXT, "\ufffd");
}

/** A value as JSON text for a jsonb column, refused or repaired as `unstorable` says; `what` names it in the error. */
export function jsonColumn(value: unknown, unstorable: Unstorable, what: string): string {
  return storableJsonText(JSON.stringify(value), unstorable, what);
}

/** JSON text PostgreSQL can store: NUL and unpaired surrogates are refused, or replaced with U+FFFD. */
export function storableJsonText(json: string, unstorable: Unstorable, what: string): string {
  if (unstorable === "replace") return json.includes("\\u") ? storableJson(json) : json;
  if (!canStoreJson(json)) {
    throw new ValidationError(`flywheel: ${what} contain a NUL character or an unpaired surrogate, which PostgreSQL cannot store`, what.split(" ").at(-1));
  }
  return json;
}

/** Whether PostgreSQL can store this JSON text as it is (no escaped NUL, no escaped unpaired surrogate). */
export function canStoreJson(json: string): boolean {
  if (!json.includes("\\u")) return true;
  UNSTORABLE_JSON.lastIndex = 0;
  return !UNSTORABLE_JSON.test(json);
}
