import { expect } from "bun:test";

/** A metric family: whether HELP and TYPE were declared, and its samples. */
export interface Family {
  help: boolean;
  type: string | undefined;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

/**
 * A deliberately strict reader of the Prometheus text format: every non-comment line is
 * `name{label="value",…} value`, every sample belongs to a family with both HELP and TYPE declared before it.
 */
export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { help: false, type: undefined, samples: [] }));
    return f;
  };
  expect(text.endsWith("\n")).toBe(true);
  for (const line of text.slice(0, -1).split("\n")) {
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$/.exec(line);
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (help) {
      family(help[1]!).help = true;
      continue;
    }
    if (type) {
      family(type[1]!).type = type[2];
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*)\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/.exec(line);
    if (!sample) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`);
    const name = sample[1]!;
    const labels = Object.fromEntries([...(sample[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
    const owner = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ""));
    if (!owner?.help || !owner.type) throw new Error(`sample ${name} has no HELP and TYPE before it`);
    const value = Number(sample[3]);
    if (Number.isNaN(value) && sample[3] !== "NaN") throw new Error(`bad value in ${JSON.stringify(line)}`);
    owner.samples.push({ name, labels, value });
  }
  for (const [name, f] of families) if (!f.help || !f.type) throw new Error(`family ${name} lacks HELP or TYPE`);
  return families;
}
