/**
 * The benchmark names the other processes and kernel threads that used the cores during a
 * window (bench/process-usage.ts): on a 2-core machine a neighbour's share is latency the
 * system under test did not cause, and the report should say so.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import {
  allProcessTimes,
  busiestOthers,
  OTHER_USER_MIN_PCT,
  type ProcessTime,
  processCpuSeconds,
} from '../bench/process-usage.ts';
import { othersText } from '../bench/report.ts';

const time = (name: string, seconds: number, kernel = false): ProcessTime => ({ name, kernel, seconds });

describe('other CPU users in a bench window', () => {
  it('finds a process that spun during the window, and leaves out the excluded ones', async () => {
    const before = allProcessTimes();
    assert.ok(before.has(process.pid), 'reads this process from /proc');
    assert.equal(before.get(2)?.kernel, true, 'kthreadd is a kernel thread');
    const started = performance.now();
    // perl (Debian's perl-base) spins until it has used 0.5 s of CPU, then sleeps, so it is still
    // there for the second snapshot. Counting its CPU, not the clock, keeps a busy CI honest.
    const child = spawn('perl', ['-e', '1 while (times)[0] < 0.5; sleep 60'], { stdio: 'ignore' });
    try {
      const deadline = Date.now() + 30_000;
      while ((processCpuSeconds(child.pid ?? -1) ?? 0) < 0.5 && Date.now() < deadline) await sleep(50);
      const after = allProcessTimes();
      const seconds = (performance.now() - started) / 1000;
      const all = busiestOthers(before, after, seconds, new Set([process.pid]));
      const perl = all.find((u) => u.name === 'perl' && !u.kernel);
      assert.ok(
        perl !== undefined && (perl.pct * seconds) / 100 >= 0.49,
        `the spinning perl is named with its 0.5 s: ${JSON.stringify(all)}`,
      );
      const without = busiestOthers(before, after, seconds, new Set([process.pid, child.pid ?? -1]));
      assert.ok(
        !without.some((u) => u.name === 'perl' && (u.pct * seconds) / 100 >= 0.49),
        'an excluded pid is left out',
      );
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });

  it('sums by name, counts processes started during the window, skips one whose name changed, sorts busiest first', () => {
    const before = new Map([
      [10, time('postgres', 1)],
      [11, time('postgres', 2)],
      [12, time('kdamond.0', 5, true)],
      [13, time('old-name', 1)],
      [14, time('idle', 3)],
    ]);
    const after = new Map([
      [10, time('postgres', 1.06)],
      [11, time('postgres', 2.06)],
      [12, time('kdamond.0', 5.5, true)],
      [13, time('new-name', 9)],
      [14, time('idle', 3)],
      [15, time('newcomer', 4)],
    ]);
    const rounded = busiestOthers(before, after, 10, new Set()).map((u) => ({
      ...u,
      pct: Math.round(u.pct * 1e6) / 1e6,
    }));
    assert.deepEqual(rounded, [
      { name: 'newcomer', kernel: false, pct: 40 },
      { name: 'kdamond.0', kernel: true, pct: 5 },
      { name: 'postgres', kernel: false, pct: 1.2 },
    ]);
    assert.equal(
      othersText(busiestOthers(before, after, 10, new Set())),
      ' · others: newcomer 40%, kdamond.0 (kernel) 5%, postgres 1%',
    );
    assert.equal(othersText([]), '');
  });

  it('never reports an excluded pid, a share below the threshold, or more than four names', () => {
    const snapshot = fc.dictionary(
      fc.integer({ min: 1, max: 50 }).map(String),
      fc.record({
        name: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
        seconds: fc.double({ min: 0, max: 100, noNaN: true }),
      }),
    );
    fc.assert(
      fc.property(snapshot, snapshot, fc.array(fc.integer({ min: 1, max: 50 })), (b, a, ex) => {
        const toMap = (d: Record<string, { name: string; seconds: number }>) =>
          new Map(Object.entries(d).map(([pid, t]) => [Number(pid), time(t.name, t.seconds)] as const));
        const before = toMap(b);
        const after = toMap(a);
        const excluded = new Set(ex);
        const users = busiestOthers(before, after, 10, excluded);
        assert.ok(users.length <= 4);
        for (let i = 1; i < users.length; i++) assert.ok((users[i - 1]?.pct ?? 0) >= (users[i]?.pct ?? 0));
        for (const u of users) {
          assert.ok(u.pct >= OTHER_USER_MIN_PCT);
          const contributors = [...after].filter(
            ([pid, t]) =>
              t.name === u.name && !excluded.has(pid) && (before.get(pid)?.name ?? u.name) === u.name,
          );
          assert.ok(contributors.length > 0, `${u.name} comes from a pid that was not excluded`);
        }
      }),
    );
  });
});
