/** One anonymous client refused over and over cannot fill the security-event table. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { type Harness, startHarness } from './support/vigil-harness.ts';

describe('security events under an anonymous flood', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h.stop());

  const rowsStored = async () =>
    Number(
      (await sql<{ n: number }>`select count(*) as n from security_events`.execute(h.vigil.store.db)).rows[0]!
        .n,
    );
  const refusalsCounted = async (code: string) => {
    const line = (await h.api('/metrics')).text
      .split('\n')
      .find((l) => l.startsWith(`vigil_refusals_total{code="${code}"}`));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  it('stores each refused enrolment once per device, with the repeats counted in one row', async () => {
    const code = 'VIGIL_ERR_ENROLL_BAD_TOKEN';
    const throttled = 'VIGIL_ERR_ENROLL_THROTTLED';
    const rowsBefore = await rowsStored();
    const countedBefore = await refusalsCounted(code);
    const throttledBefore = await refusalsCounted(throttled);
    const requests = 300;
    // After ten refusals in a minute the source is paused (429): the rest of the flood is
    // counted under the throttle's own code, and stored as one row with its count too.
    const refusedDevices: string[] = [];
    for (let i = 0; i < requests; i += 25) {
      const answers = await Promise.all(
        Array.from({ length: 25 }, (_, j) =>
          h.api('/api/v1/enroll', {
            method: 'POST',
            token: '',
            body: {
              deviceId: `ghost-${(i + j) % 3}`,
              token: 'guessguess',
              csr: `-----BEGIN CERTIFICATE REQUEST-----\n${'A'.repeat(120)}\n-----END CERTIFICATE REQUEST-----`,
            },
          }),
        ),
      );
      answers.forEach((a, j) => {
        assert.ok(a.status === 401 || a.status === 429, a.text);
        if (a.status === 401) refusedDevices.push(`ghost-${(i + j) % 3}`);
      });
    }
    assert.equal(refusedDevices.length, 10, 'the throttle let ten through');
    const listed = await h.api(`/api/v1/security/events?code=${code}&limit=100`);
    assert.equal(listed.status, 200, listed.text);
    const events = (listed.json as { events: Array<{ deviceId: string; detail: string }> }).events;
    // Each device stored once, and once more as the count of its repeats if it had any.
    const devices = [...new Set(refusedDevices)].sort();
    const repeatedDevices = devices.filter((d) => refusedDevices.filter((r) => r === d).length > 1);
    const repeated = events.filter((e) => /^repeated \d+ more times/.test(e.detail));
    assert.deepEqual(repeated.map((e) => e.deviceId).sort(), repeatedDevices);
    assert.equal(
      repeated.reduce((n, e) => n + Number(/^repeated (\d+)/.exec(e.detail)![1]), 0),
      refusedDevices.length - devices.length,
    );
    const paused = (await h.api(`/api/v1/security/events?code=${throttled}&limit=100`)).json as {
      events: Array<{ detail: string }>;
    };
    assert.equal(paused.events.length, 2, JSON.stringify(paused.events));
    assert.ok(paused.events.some((e) => e.detail.startsWith(`repeated ${requests - 11} more times`)));
    assert.equal(await rowsStored(), rowsBefore + devices.length + repeatedDevices.length + 2);
    assert.equal(await refusalsCounted(code), countedBefore + 10);
    assert.equal(await refusalsCounted(throttled), throttledBefore + requests - 10);
  });
});
