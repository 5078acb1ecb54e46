// Progress for long work: a bar with rate and ETA on a terminal, a plain line every few
// seconds otherwise (CI logs, pipes).
import cliProgress from "cli-progress";

export interface ProgressReporter {
  update(done: number, rows: number, elapsedMs?: number): void;
  stop(): void;
}

/**
 * `total` is in the unit of `done` (bytes for imports, customers for scoring). `startedAt`:
 * when the work began, if before the first progress report (rates are counted from it).
 */
export function createProgress(label: string, total: number, unit = "rows", startedAt = Date.now()): ProgressReporter {
  const started = startedAt;
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: `${label} [{bar}] {percentage}% | {rows} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(Math.max(total, 1), 0, { rows: 0, rate: 0 });
    return {
      update(done, rows, elapsedMs) {
        const seconds = (elapsedMs ?? Date.now() - started) / 1000;
        bar.update(Math.min(done, total), {
          rows: rows.toLocaleString("en"),
          rate: Math.round(rows / Math.max(seconds, 0.001)).toLocaleString("en"),
        });
      },
      stop: () => bar.stop(),
    };
  }
  let lastPrinted = 0;
  return {
    update(done, rows, elapsedMs) {
      const now = Date.now();
      if (now - lastPrinted < 5000) return;
      lastPrinted = now;
      const seconds = (elapsedMs ?? now - started) / 1000;
      const pct = total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0;
      process.stderr.write(
        `${label}: ${pct}% ${rows} ${unit} (${Math.round(rows / Math.max(seconds, 0.001))} ${unit}/s)\n`,
      );
    },
    stop() {},
  };
}
