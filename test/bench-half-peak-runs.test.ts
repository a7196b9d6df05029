/**
 * Several half-peak runs at the same load (`npm run bench -- --half-peak-runs N`): the target is
 * judged on the run with the median p99 (bench/latency.ts), and the report lists them all.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { RateRun } from '../bench/e2e-ingest.ts';
import { medianByP99 } from '../bench/latency.ts';
import { halfPeakRunsLine } from '../bench/report.ts';

const withP99 = (p99: number) => ({
  run: { latency: { count: 1, p50: 1, p90: 1, p99, max: p99, mean: 1, sampled: false } },
});

describe('half-peak runs', () => {
  it('judges the middle run, or the higher of the middle two', () => {
    assert.equal(medianByP99([withP99(12)]).run.latency.p99, 12);
    assert.equal(medianByP99([withP99(30), withP99(10), withP99(20)]).run.latency.p99, 20);
    assert.equal(medianByP99([withP99(10), withP99(40)]).run.latency.p99, 40);
    assert.equal(medianByP99([withP99(5), withP99(90), withP99(7), withP99(60)]).run.latency.p99, 60);
    assert.throws(() => medianByP99([]), /no runs/);
  });

  it('picks one of the runs, with no more than half of them below it and fewer than half above', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e4, noNaN: true }), { minLength: 1, maxLength: 9 }),
        (p99s) => {
          const runs = p99s.map(withP99);
          const chosen = medianByP99(runs);
          assert.ok(runs.includes(chosen));
          const p = chosen.run.latency.p99;
          assert.ok(p99s.filter((v) => v < p).length <= Math.floor(p99s.length / 2));
          assert.ok(p99s.filter((v) => v > p).length <= Math.ceil(p99s.length / 2) - 1);
        },
      ),
    );
  });

  it('lists every run in the order it ran and marks the judged one; nothing for a single run', () => {
    const runs = [withP99(88.04), withP99(140.5), withP99(61.26)] as unknown as RateRun[];
    const lines = halfPeakRunsLine(runs);
    assert.equal(lines.length, 1);
    assert.match(
      lines[0] ?? '',
      /3 runs at this load, p99 in the order they ran: 88\.0\* · 140\.5 · 61\.3 ms/,
    );
    assert.deepEqual(halfPeakRunsLine(runs.slice(0, 1)), []);
  });
});
