import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deriveSeed, gaussianAt, Random } from './random.ts';

function draw(rand: Random, n: number): number[] {
  return Array.from({ length: n }, () => rand.next());
}

describe('Random', () => {
  it('repeats the same sequence for the same seed', () => {
    assert.deepEqual(draw(new Random(42), 100), draw(new Random(42), 100));
  });

  it('gives a different sequence for a different seed', () => {
    assert.notDeepEqual(draw(new Random(42), 10), draw(new Random(43), 10));
  });

  it('draws uniform numbers in [0, 1) with mean near 1/2', () => {
    const xs = draw(new Random(7), 20_000);
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
  });

  it('draws normals with the requested mean and standard deviation', () => {
    const rand = new Random(11);
    const xs = Array.from({ length: 20_000 }, () => rand.normal(100, 5));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length);
    assert.ok(Math.abs(mean - 100) < 0.15, `mean ${mean}`);
    assert.ok(Math.abs(sd - 5) < 0.15, `sd ${sd}`);
  });
});

describe('deriveSeed', () => {
  it('is stable for the same path and changes with any part of it', () => {
    assert.equal(deriveSeed(1, 'meals', 20_000), deriveSeed(1, 'meals', 20_000));
    assert.notEqual(deriveSeed(1, 'meals', 20_000), deriveSeed(1, 'meals', 20_001));
    assert.notEqual(deriveSeed(1, 'meals', 20_000), deriveSeed(2, 'meals', 20_000));
    assert.notEqual(deriveSeed(1, 'meals', 20_000), deriveSeed(1, 'spo2', 20_000));
  });

  it('tells apart timestamps that differ only above 32 bits', () => {
    const t = Date.UTC(2026, 10, 22);
    assert.notEqual(deriveSeed(1, t), deriveSeed(1, t + 2 ** 32));
  });
});

describe('gaussianAt', () => {
  it('is a pure function of seed, stream and time', () => {
    assert.equal(gaussianAt(3, 'glucose', 1_000), gaussianAt(3, 'glucose', 1_000));
    assert.notEqual(gaussianAt(3, 'glucose', 1_000), gaussianAt(3, 'glucose', 2_000));
  });
});
