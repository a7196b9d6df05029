import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Harness, startHarness } from './support/vigil-harness.ts';

const GLUCOSE = '2339-0';

describe('alert list through the API', () => {
  const clock = { offsetMs: 0, now: () => Date.now() + clock.offsetMs };
  let h: Harness;
  before(async () => {
    h = await startHarness({ start: { alertClock: clock } });
  });
  after(async () => {
    await h.stop().catch(() => {});
  });

  const urgentLow = (deviceId: string, patientId: string) => {
    clock.offsetMs += 10; // distinct opened times, so the order is known
    h.vigil.alerts.onStored({
      deviceId,
      receivedMs: Date.now(),
      parts: [{ patientId, readings: [{ code: GLUCOSE, value: 45, tsMs: Date.now() }] }],
    });
  };
  const seen = async (path: string) => {
    const r = await h.api(path, { token: h.clinicianToken });
    assert.equal(r.status, 200, r.text);
    return (r.json as { alerts: Array<{ patient: string }> }).alerts.map((a) => a.patient);
  };

  it("keeps a clinician's own alert behind 200 newer alerts of other wards", async () => {
    await h.vigil.patients.add('p-mine', { name: 'Mine' });
    await h.care('p-mine');
    urgentLow('cgm-mine', 'p-mine');
    for (let i = 0; i < 201; i++) {
      await h.vigil.patients.add(`p-other-${i}`, { name: `Other ${i}` });
      urgentLow(`cgm-o${i}`, `p-other-${i}`);
    }
    await h.vigil.alerts.idle();
    assert.deepEqual(await seen('/api/v1/alerts?state=open&urgency=urgent'), ['p-mine']);
    assert.deepEqual(await seen('/api/v1/alerts?state=open&urgency=urgent&limit=1'), ['p-mine']);
  });

  it('lists alerts and restarts after a patient with an open alert is erased', async () => {
    await h.vigil.patients.add('p-gone', { name: 'Gone' });
    await h.care('p-gone');
    urgentLow('cgm-gone', 'p-gone');
    await h.vigil.alerts.idle();
    const erase = await h.api('/api/v1/patients/p-gone/erase', {
      method: 'POST',
      body: { reason: 'GDPR article 17 request', confirm: 'p-gone' },
    });
    assert.ok(erase.status < 300, erase.text);
    assert.deepEqual(await seen('/api/v1/alerts?state=open&urgency=urgent'), ['p-mine']);
    await h.restart();
    assert.deepEqual(await seen('/api/v1/alerts?state=open&urgency=urgent'), ['p-mine']);
  });
});
