import { isatty } from "node:tty";

// Colour for people, never for pipes (SPEC §12): on only when the stream is a terminal, `NO_COLOR` is unset or
// empty (no-color.org), `TERM` is not `dumb`, and `--no-color` was not given. `main.ts` records the flag once.

let disabledByFlag = false;

/** Called by `main.ts` when the command line holds `--no-color`: no ANSI escape is printed from then on. */
export function disableColor(): void {
  disabledByFlag = true;
}

/** Whether text written to `fd` (1 stdout, 2 stderr) may carry colour. `isatty` costs one ioctl, not a Node stream. */
export function colorOn(fd: 1 | 2, env: Record<string, string | undefined> = process.env): boolean {
  if (disabledByFlag || (env.NO_COLOR ?? "") !== "" || env.TERM === "dumb") return false;
  return isatty(fd);
}

/** A painter for `fd`: `bold`, `dim` and `red` wrap text in ANSI codes when {@link colorOn}, else return it unchanged. */
export function painter(fd: 1 | 2): { bold(text: string): string; dim(text: string): string; red(text: string): string } {
  const on = colorOn(fd);
  const wrap = (open: string, close: string) => (text: string) => (on ? `\x1b[${open}m${text}\x1b[${close}m` : text);
  return { bold: wrap("1", "22"), dim: wrap("2", "22"), red: wrap("31", "39") };
}
