import { ValidationError } from "../core/errors.ts";

// Topic names and binding patterns (SPEC §18), AMQP's rules: a topic is tokens of [A-Za-z0-9_-] joined by dots;
// in a pattern `*` stands for exactly one token and `#` for zero or more.

const TOKEN = /^[A-Za-z0-9_-]+$/;

/** The most tokens a topic or pattern may have: enough for any naming scheme, few enough to match cheaply. */
const MAX_TOKENS = 32;

/**
 * Checks a topic: one or more tokens of letters, digits, `_` and `-`, joined by dots.
 * @throws ValidationError naming the topic and what is wrong.
 */
export function assertTopic(topic: unknown): asserts topic is string {
  const tokens = splitTokens(topic, "topic");
  const bad = tokens.find((t) => !TOKEN.test(t));
  if (bad !== undefined) throw new ValidationError(`flywheel: topic ${JSON.stringify(topic)}: token ${JSON.stringify(bad)} may hold only letters, digits, _ and -`, "topic");
}

/**
 * Checks a binding pattern: tokens as in a topic, or `*` (one token) or `#` (zero or more).
 * @throws ValidationError naming the pattern and what is wrong.
 */
export function assertPattern(pattern: unknown): asserts pattern is string {
  const tokens = splitTokens(pattern, "pattern");
  const bad = tokens.find((t) => t !== "*" && t !== "#" && !TOKEN.test(t));
  if (bad !== undefined) {
    throw new ValidationError(`flywheel: pattern ${JSON.stringify(pattern)}: token ${JSON.stringify(bad)} must be a word of letters, digits, _ and -, or * or #`, "pattern");
  }
}

function splitTokens(value: unknown, key: "topic" | "pattern"): string[] {
  if (typeof value !== "string" || value === "") throw new ValidationError(`flywheel: ${key} must be a non-empty string, got ${JSON.stringify(value) ?? String(value)}`, key);
  const tokens = value.split(".");
  if (tokens.some((t) => t === "")) throw new ValidationError(`flywheel: ${key} ${JSON.stringify(value)} has an empty token (a leading, trailing or doubled dot)`, key);
  if (tokens.length > MAX_TOKENS) throw new ValidationError(`flywheel: ${key} ${JSON.stringify(value)} has ${tokens.length} tokens; at most ${MAX_TOKENS}`, key);
  return tokens;
}

/**
 * The literal tokens a pattern starts with, before its first wildcard, joined by dots (`orders.eu` for
 * `orders.eu.*.paid`, `` for `#.paid`). Stored with the binding: a topic can only match bindings whose prefix is
 * one of {@link topicPrefixes}, so a publish reads those few index entries instead of every binding.
 */
export function literalPrefix(pattern: string): string {
  const tokens = pattern.split(".");
  const wild = tokens.findIndex((t) => t === "*" || t === "#");
  return (wild === -1 ? tokens : tokens.slice(0, wild)).join(".");
}

/** Every prefix of a topic at a token boundary, from the empty one to the topic itself. */
export function topicPrefixes(topic: string): string[] {
  const tokens = topic.split(".");
  return Array.from({ length: tokens.length + 1 }, (_, i) => tokens.slice(0, i).join("."));
}

/** Whether `topic` matches `pattern` by AMQP's rules (`*` one token, `#` zero or more). */
export function topicMatches(pattern: string, topic: string): boolean {
  return matchFrom(pattern.split("."), 0, topic.split("."), 0);
}

function matchFrom(p: string[], i: number, t: string[], j: number): boolean {
  for (; i < p.length; i++, j++) {
    const token = p[i]!;
    if (token === "#") {
      // `#` takes zero or more tokens: try every split, shortest first. Patterns are short; this stays cheap.
      for (let k = j; k <= t.length; k++) if (matchFrom(p, i + 1, t, k)) return true;
      return false;
    }
    if (j >= t.length || (token !== "*" && token !== t[j])) return false;
  }
  return j === t.length;
}
