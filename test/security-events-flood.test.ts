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
    const rowsBefore = await rowsStored();
    const countedBefore = await refusalsCounted(code);
    const requests = 300;
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
      for (const a of answers) assert.equal(a.status, 401, a.text);
    }
    const listed = await h.api(`/api/v1/security/events?code=${code}&limit=100`);
    assert.equal(listed.status, 200, listed.text);
    const events = (listed.json as { events: Array<{ deviceId: string; detail: string }> }).events;
    // Three devices: each stored once, and once more as the count of its repeats.
    assert.equal(await rowsStored(), rowsBefore + 6);
    const repeated = events.filter((e) => /^repeated \d+ more times/.test(e.detail));
    assert.deepEqual(repeated.map((e) => e.deviceId).sort(), ['ghost-0', 'ghost-1', 'ghost-2']);
    assert.equal(
      repeated.reduce((n, e) => n + Number(/^repeated (\d+)/.exec(e.detail)![1]), 0),
      requests - 3,
    );
    assert.equal(await refusalsCounted(code), countedBefore + requests);
  });
});
