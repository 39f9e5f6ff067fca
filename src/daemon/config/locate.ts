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
