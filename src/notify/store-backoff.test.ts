import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { StoreBackoff } from './store-backoff.ts';

function backoffAt(clock: { nowMs: number }, logged: string[] = []) {
  return new StoreBackoff({
    log: pino({ level: 'info' }, { write: (line: string) => logged.push(line) }),
    baseMs: 1000,
    now: () => clock.nowMs,
    random: () => 1,
    wake: () => {},
  });
}

describe('store backoff', () => {
  it('doubles the pause with each store error in a row, up to a minute', () => {
    const b = backoffAt({ nowMs: 0 });
    assert.deepEqual(
      [1, 2, 3, 7, 20].map((n) => b.delayMs(n)),
      [1000, 2000, 4000, 60_000, 60_000],
    );
  });

  it('pauses after an error until its time, and logs the episode once at each end', () => {
    const clock = { nowMs: 0 };
    const logged: string[] = [];
    const b = backoffAt(clock, logged);
    try {
      b.failed(new Error('SQLITE_FULL'), 'queue unreadable');
      b.failed(new Error('SQLITE_FULL'), 'queue unreadable');
      assert.equal(b.isPaused(), true);
      clock.nowMs = 2000;
      assert.equal(b.isPaused(), false, 'the second error paused it for 2 s');
      b.answered('recovered', false);
      assert.equal(logged.length, 1, 'not over while work is still owed');
      b.answered('recovered');
      b.answered('recovered');
      assert.deepEqual(
        logged.map((l) => (JSON.parse(l) as { msg: string }).msg),
        [
          'queue unreadable; the store is asked again with backoff, and this is not logged again until it recovers',
          'recovered',
        ],
      );
    } finally {
      b.stop();
    }
  });
});
