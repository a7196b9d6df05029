import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import pino from 'pino';
import { LogSampler } from './log-sampler.ts';

function harness(perWindow = 3, windowMs = 1_000) {
  const lines: Array<{ key: string; suppressed: number; msg: string }> = [];
  let nowMs = 0;
  const sampler = new LogSampler({
    log: pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) }),
    what: 'test refusals',
    perWindow,
    windowMs,
    now: () => nowMs,
  });
  return { sampler, lines, advance: (ms: number) => (nowMs += ms) };
}

describe('LogSampler', () => {
  it('lets the first lines of a kind through, then counts the rest and says how many', () => {
    const { sampler, lines, advance } = harness();
    const admitted = Array.from({ length: 10 }, () => sampler.admit('BAD_JSON'));
    assert.deepEqual(admitted, [true, true, true, false, false, false, false, false, false, false]);
    assert.equal(lines.length, 0, 'nothing said before the window ends');
    advance(1_000);
    assert.equal(sampler.admit('BAD_JSON'), true, 'a new window starts afresh');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.key, 'BAD_JSON');
    assert.equal(lines[0]!.suppressed, 7);
    assert.match(lines[0]!.msg, /test refusals: 7 more like this not logged/);
    sampler.stop();
  });

  it('keeps one budget per kind', () => {
    const { sampler } = harness(2);
    assert.deepEqual(
      ['A', 'A', 'A', 'B', 'B', 'B'].map((k) => sampler.admit(k)),
      [true, true, false, true, true, false],
    );
    sampler.stop();
  });

  it('reports ended windows on flush and everything held back on stop', () => {
    const { sampler, lines, advance } = harness(1);
    sampler.admit('A');
    sampler.admit('A');
    advance(500);
    sampler.admit('B');
    sampler.admit('B');
    sampler.admit('B');
    advance(600);
    sampler.flush();
    assert.deepEqual(
      lines.map((l) => [l.key, l.suppressed]),
      [['A', 1]],
    );
    sampler.stop();
    assert.deepEqual(
      lines.map((l) => [l.key, l.suppressed]),
      [
        ['A', 1],
        ['B', 2],
      ],
    );
  });

  it('says it on its own once the window has passed, without another line to trigger it', async () => {
    const lines: Array<{ suppressed: number }> = [];
    const sampler = new LogSampler({
      log: pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) }),
      what: 'timed',
      perWindow: 1,
      windowMs: 20,
    });
    for (let i = 0; i < 5; i++) sampler.admit('X');
    await new Promise((r) => setTimeout(r, 120));
    assert.deepEqual(
      lines.map((l) => l.suppressed),
      [4],
    );
    sampler.stop();
  });

  it('never lets more than the budget through per window, and loses no count (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.nat(400)), { maxLength: 300 }),
        (calls) => {
          const { sampler, lines, advance } = harness(3, 1_000);
          const admittedPerWindow = new Map<string, number>();
          let t = 0;
          let admitted = 0;
          for (const [key, gap] of calls) {
            advance(gap);
            t += gap;
            if (sampler.admit(key)) {
              admitted += 1;
              // A window begins at a key's first line after the previous one ended, so over any
              // 1 s stretch a key gets at most 2 × 3 lines; within one aligned second, at most 6.
              const slot = `${key}:${Math.floor(t / 1_000)}`;
              admittedPerWindow.set(slot, (admittedPerWindow.get(slot) ?? 0) + 1);
            }
          }
          sampler.stop();
          const suppressed = lines.reduce((n, l) => n + l.suppressed, 0);
          assert.equal(admitted + suppressed, calls.length);
          for (const n of admittedPerWindow.values()) assert.ok(n <= 6);
        },
      ),
    );
  });

  it('folds keys beyond its limit into one, so input cannot grow it without bound', () => {
    const { sampler, lines } = harness(1);
    for (let i = 0; i < 1_500; i++) sampler.admit(`k${i}`);
    for (let i = 1_000; i < 1_500; i++) assert.equal(sampler.admit(`k${i}`), false);
    sampler.stop();
    const other = lines.find((l) => l.key === '(other)');
    assert.equal(other?.suppressed, 999);
  });
});
