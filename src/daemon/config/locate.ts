// Key paths and where they sit in the YAML text, so every config error can say `file:line: key: what`.

/** `["schedules", 2, "shell", "script"]` → `schedules[2].shell.script`. */
export function dotPath(keys: readonly (string | number)[]): string {
  return keys.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("");
}

/** `"env.FOO"` → `["env", "FOO"]`; digit segments become indexes. */
export function splitDotPath(path: string): (string | number)[] {
  return path === "" ? [] : path.split(".").map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

/**
 * The 1-based line of `keys` in YAML `text`, or of its deepest ancestor found; undefined when not even the
 * first key is. Bun's YAML parser keeps no positions, so this walks the text: a child key starts a line indented
 * deeper than its parent key (or follows it on the parent's own line: `- slug: x`, `shell: { script: x }`); a
 * list index counts the `-` items at the list's indentation. It never looks outside the parent's block, so for
 * styles it does not follow (multi-line flow collections) it reports the nearest ancestor instead of a wrong line.
 */
export function locate(text: string, keys: readonly (string | number)[]): number | undefined {
  if (text === "" || keys.length === 0) return undefined;
  const lines = text.split("\n");
  const indentOf = (line: string) => line.length - line.trimStart().length;
  const isContent = (line: string) => line.trim() !== "" && !line.trimStart().startsWith("#");
  // The current node: its row and the column of its key (or of its item's dash); the root has column -1.
  let row = -1;
  let col = -1;
  for (const key of keys) {
    let hit: { row: number; col: number } | undefined;
    if (typeof key === "number") {
      let count = -1;
      let itemCol = -1;
      for (let i = row + 1; i < lines.length && !hit; i++) {
        const line = lines[i]!;
        if (!isContent(line)) continue;
        const indent = indentOf(line);
        const dash = /^-(\s|$)/.test(line.trimStart());
        // YAML lets a block sequence sit at its parent key's own indentation (`key:\n- item`).
        if (indent < col || (indent === col && !dash) || (itemCol !== -1 && indent < itemCol)) break;
        if (!dash) continue;
        if (itemCol === -1) itemCol = indent;
        if (indent === itemCol && ++count === key) hit = { row: i, col: indent };
      }
    } else {
      const name = `["']?${key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}["']?\\s*:(\\s|$)`;
      if (row >= 0) {
        const rest = lines[row]!.slice(col + 1);
        const m = new RegExp(`(^|[\\s{,])${name}`).exec(rest);
        if (m) hit = { row, col: col + 1 + m.index + m[1]!.length };
      }
      for (let i = row + 1; i < lines.length && !hit; i++) {
        const line = lines[i]!;
        if (!isContent(line)) continue;
        const indent = indentOf(line);
        if (indent <= col) break;
        if (new RegExp(`^${name}`).test(line.trimStart()) && (col >= 0 || indent === 0)) hit = { row: i, col: indent };
      }
    }
    if (!hit) break;
    ({ row, col } = hit);
  }
  return row >= 0 ? row + 1 : undefined;
}

/**
 * Where Bun's YAML parser gave up on `text`: the 1-based line and column, or undefined when `text` parses. Bun's
 * errors carry no position, so this re-parses prefixes: the line is the first whose prefix fails the same way as
 * the whole text (for an unclosed `[`, `{` or quote, the line that opened it); the column is where, within that
 * line, the failure starts and stays (a stray `:`, the opening bracket). Costs a parse per line, on errors only.
 */
export function yamlErrorPosition(text: string): { line: number; column: number } | undefined {
  const failure = (t: string): string | null => {
    try {
      Bun.YAML.parse(t);
      return null;
    } catch (error) {
      return (error as Error).message;
    }
  };
  const full = failure(text);
  if (full === null) return undefined;
  const lines = text.split("\n");
  const n = lines.findIndex((_, i) => failure(`${lines.slice(0, i + 1).join("\n")}\n`) === full);
  if (n < 0) return undefined;
  const before = lines.slice(0, n).map((l) => `${l}\n`).join("");
  const line = lines[n]!;
  // A tab is refused where it indents; the prefix scan would point past it.
  if (/\btab\b/i.test(full) && line.includes("\t")) return { line: n + 1, column: line.indexOf("\t") + 1 };
  let column = 1;
  for (let c = line.length; c >= 1; c--) {
    if (failure(before + line.slice(0, c)) !== full) {
      column = Math.min(c + 1, Math.max(1, line.length));
      break;
    }
  }
  // Inside a word (an alias `*name` fails only once its name is read), point at where the word starts.
  const word = /[\w.-]/;
  if (word.test(line[column - 1] ?? "")) {
    while (column > 1 && word.test(line[column - 2]!)) column--;
    if (column > 1 && "*&!".includes(line[column - 2]!)) column--;
  }
  return { line: n + 1, column };
}
