/** Just enough of the Prometheus text format to read Vigil's own counters, gauges and histograms. */

export interface Scrape {
  /** Sample values by metric name, summed over label sets; histogram buckets left out. */
  totals: Map<string, number>;
  /** Every sample by its full series text, e.g. `x_bucket{le="0.01"}`. */
  series: Map<string, number>;
}

export function parsePrometheus(text: string): Scrape {
  const totals = new Map<string, number>();
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const name = match[1] ?? '';
    const labels = match[2] ?? '';
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    series.set(`${name}${labels}`, value);
    // Histogram buckets are cumulative per `le`; summing them would mean nothing.
    if (!labels.includes('le=')) totals.set(name, (totals.get(name) ?? 0) + value);
  }
  return { totals, series };
}

/** Change of a metric (summed over labels) between two scrapes: counters, histogram sums and counts. */
export function delta(before: Scrape, after: Scrape, name: string): number {
  return (after.totals.get(name) ?? 0) - (before.totals.get(name) ?? 0);
}

/** Change of one exact series between two scrapes. */
export function seriesDelta(before: Scrape, after: Scrape, series: string): number {
  return (after.series.get(series) ?? 0) - (before.series.get(series) ?? 0);
}
