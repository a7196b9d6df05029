/**
 * Latency against offered load as a text chart for the bench report: one row per open-loop
 * run, a bar to the p99 with the p50 marked on it and a rule at the target, so where the target
 * stops holding is seen rather than read off a table.
 */

export interface LoadPoint {
  /** Share of the peak the run offered (0.5 for half peak). */
  fractionOfPeak: number;
  messagesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

const BAR = '█';
const P50 = '▒';
const TARGET = '│';

/** Lines of the chart, heaviest load first; `width` is the bar length of the largest value. */
export function latencyChart(points: readonly LoadPoint[], targetMs: number, width = 48): string[] {
  if (points.length === 0) return [];
  const top = Math.max(targetMs, ...points.map((p) => p.p99Ms));
  const col = (ms: number) => Math.min(width, Math.max(0, Math.round((ms / top) * width)));
  const targetCol = col(targetMs);
  const rows = [...points].sort((a, b) => b.fractionOfPeak - a.fractionOfPeak);
  const label = (p: LoadPoint) =>
    `${share(p.fractionOfPeak).padStart(5)} ${Math.round(p.messagesPerSecond).toLocaleString('en-US').padStart(7)}/s`;
  const lines = [
    `Latency against load (publish→PUBACK; ${BAR} to p99, ${P50} to p50, ${TARGET} = ${targetMs} ms target)`,
  ];
  for (const p of rows) {
    const p50 = col(p.p50Ms);
    const p99 = Math.max(col(p.p99Ms), p50);
    let bar = '';
    for (let i = 0; i < Math.max(p99, targetCol + 1); i++) {
      if (i === targetCol) bar += TARGET;
      else if (i < p50) bar += P50;
      else if (i < p99) bar += BAR;
      else bar += ' ';
    }
    const verdict = p.p99Ms <= targetMs ? '' : ' over';
    lines.push(`  ${label(p)}  ${bar} p50 ${p.p50Ms.toFixed(1)} · p99 ${p.p99Ms.toFixed(1)} ms${verdict}`);
  }
  return lines;
}

function share(fraction: number): string {
  return `${(fraction * 100).toFixed(1).replace(/\.0$/, '')}%`;
}
