/** Cells of the bar between the brackets. */
const BAR_CELLS = 30;

/** A one-line download progress display, redrawn in place with carriage returns. */
export interface ProgressBar {
  /** Shows `received` of `total` bytes (`total` unknown: bytes only). Redraws only when the line would change. */
  update(received: number, total: number | undefined): void;
  /** Ends the line, if anything was drawn, so the next output starts on a fresh one. */
  done(): void;
}

/**
 * A progress bar for `label` that writes through `write` (stderr in the CLI, which draws one only when stderr
 * is a terminal). Lines have a fixed width for a given total, so each `\r` redraw covers the previous one
 * completely; no escape sequences are written, so even a log that captures it stays plain text.
 * @example
 * const bar = progressBar((s) => process.stderr.write(s), "flywheel-1.2.3-linux-x64.tar.gz");
 * await downloadAsset(asset, { onProgress: bar.update });
 * bar.done();
 */
export function progressBar(write: (text: string) => void, label: string): ProgressBar {
  let last = "";
  return {
    update(received, total) {
      const line = renderProgress(label, received, total);
      if (line === last) return;
      last = line;
      write(`\r${line}`);
    },
    done() {
      if (last !== "") write("\n");
      last = "";
    },
  };
}

/**
 * One frame of the bar: `label [#####.....]  42%  12.3/29.0 MiB`, or `label  12.3 MiB` when the total is
 * unknown. Exported so tests can state frames exactly.
 */
export function renderProgress(label: string, received: number, total: number | undefined): string {
  if (total === undefined || total <= 0) return `${label}  ${mib(received)} MiB`;
  const fraction = Math.min(1, received / total);
  const filled = Math.floor(fraction * BAR_CELLS);
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const size = `${mib(received).padStart(mib(total).length)}/${mib(total)} MiB`;
  return `${label} [${"#".repeat(filled)}${".".repeat(BAR_CELLS - filled)}] ${percent}  ${size}`;
}

function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}
