import type { ProgressEvent, ProgressSink } from '../core/use-cases/progress.js';

/**
 * Progress from core callbacks: a redrawn bar with rate and ETA on a TTY, a plain line per 10 % otherwise (logs and
 * CI stay readable), nothing with --json (stdout carries only the result).
 */
export function progressReporter(
  mode: 'tty' | 'plain' | 'silent',
  stream: NodeJS.WriteStream = process.stderr,
): ProgressSink & { end(): void } {
  let phase: string | undefined;
  let startedAt = 0;
  let lastDecile = -1;
  let lastDraw = 0;
  let drawn = false;
  const sink = (event: ProgressEvent): void => {
    if (mode === 'silent') return;
    const label = event.message ?? event.phase;
    if (label !== phase) {
      if (drawn) stream.write('\n');
      phase = label;
      startedAt = performance.now();
      lastDecile = -1;
      drawn = false;
    }
    // A cached re-run reports every image: skip the formatting of events nobody will see (100 k of them).
    const decile = event.total > 0 ? Math.floor((event.done / event.total) * 10) : 10;
    if (mode === 'plain' && decile === lastDecile) return;
    if (mode === 'tty' && performance.now() - lastDraw < 80 && event.done < event.total) return;
    const elapsed = (performance.now() - startedAt) / 1000;
    const rate = elapsed > 0 ? event.done / elapsed : 0;
    const eta = rate > 0 ? (event.total - event.done) / rate : 0;
    const detail = Object.entries(event.detail ?? {})
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    // A rate over a few milliseconds is noise; show it once there is something to average.
    const speed = elapsed > 0.25 ? ` ${rate.toFixed(1)}/s ETA ${formatSeconds(eta)}` : '';
    const text = `${label} ${event.done}/${event.total}${speed}${detail ? ` (${detail})` : ''}`;
    if (mode === 'tty') {
      lastDraw = performance.now();
      const width = 24;
      const filled = event.total > 0 ? Math.round((event.done / event.total) * width) : width;
      stream.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${text}\x1b[K`);
      drawn = true;
    } else {
      lastDecile = decile;
      stream.write(`${text}\n`);
    }
  };
  return Object.assign(sink, {
    end(): void {
      if (mode === 'tty' && drawn) stream.write('\n');
      drawn = false;
      phase = undefined;
    },
  });
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  return `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
}
