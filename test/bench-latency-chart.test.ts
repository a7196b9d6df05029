/**
 * The bench report's chart of latency against load (bench/latency-chart.ts): bars in the right
 * order and proportion, the target rule in one column on every row, and any figures at all,
 * including zeros and values far over the target, drawn without breaking the layout.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type LoadPoint, latencyChart } from '../bench/latency-chart.ts';

const point = (fractionOfPeak: number, p50Ms: number, p99Ms: number): LoadPoint => ({
  fractionOfPeak,
  messagesPerSecond: 26_000 * fractionOfPeak,
  p50Ms,
  p99Ms,
});

const barOf = (line: string) => line.slice(line.indexOf('/s') + 4, line.indexOf(' p50'));

describe('latency chart', () => {
  it('draws heaviest load first, p99 bars in proportion, and flags rows over the target', () => {
    const lines = latencyChart(
      [point(0.25, 7.3, 83.6), point(0.5, 49.1, 121.6), point(0.125, 1.3, 56.3), point(0.0625, 0.9, 13.7)],
      25,
      40,
    );
    assert.equal(lines.length, 5);
    assert.match(lines[0] ?? '', /25 ms target/);
    const [half, quarter, eighth, sixteenth] = lines.slice(1);
    assert.match(half ?? '', /^ {4}50% {2}13,000\/s/);
    assert.match(quarter ?? '', /^ {4}25% {3}6,500\/s/);
    assert.match(eighth ?? '', /^ {2}12\.5% {3}3,250\/s/);
    assert.match(sixteenth ?? '', /^ {3}6\.3% {3}1,625\/s/);
    // The largest p99 spans the whole width; the others in proportion (83.6 / 121.6 × 40 = 27.5, drawn 28).
    assert.equal(barOf(half ?? '').trimEnd().length, 40);
    assert.equal(barOf(quarter ?? '').trimEnd().length, 28);
    assert.match(half ?? '', /p99 121\.6 ms over$/);
    assert.match(sixteenth ?? '', /p99 13\.7 ms$/);
    // The rule sits at 25 / 121.6 × 40 ≈ column 8 on every row, also past the end of a short bar.
    for (const row of [half, quarter, eighth, sixteenth]) assert.equal(barOf(row ?? '').indexOf('│'), 8);
  });

  it('draws nothing for no runs', () => {
    assert.deepEqual(latencyChart([], 25), []);
  });

  it('lays out any figures: one row per run, bars within the width, the rule in one column', () => {
    const ms = fc.double({ min: 0, max: 1e5, noNaN: true });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.double({ min: 0.001, max: 1, noNaN: true }), ms, ms), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 8, max: 80 }),
        (runs, target, width) => {
          const lines = latencyChart(
            runs.map(([f, a, b]) => point(f, Math.min(a, b), Math.max(a, b))),
            target,
            width,
          );
          assert.equal(lines.length, runs.length + 1);
          const rules = new Set(lines.slice(1).map((l) => barOf(l).indexOf('│')));
          assert.equal(rules.size, 1);
          for (const l of lines.slice(1)) assert.ok(barOf(l).length <= width + 1, l);
        },
      ),
    );
  });
});
