import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Harness, publishQos1, startHarness } from './support/vigil-harness.ts';

/**
 * Scripted signal traces through the real pipeline (issue 3, "Tests that must exist"): each
 * trace is published over MQTT 5 with mutual TLS, committed, evaluated by the alert engine,
 * and read back through the HTTP API as a clinician. The engine's clock is the wall clock
 * plus an offset the test moves on, so signal loss and escalation come without waiting.
 */

const GLUCOSE = '2339-0';
const SPO2 = '59408-5';
const HR = '8867-4';
const MINUTE = 60_000;

interface ApiAlert {
  id: string;
  condition: string;
  urgency: string;
  state: string;
  device: string | null;
  value: number;
  onset: string;
  resolution: string | null;
  assignedTo: string | null;
  escalationLevel: number;
}

type WireReading = { code: string; value: number; unit: string; ts: string };
const reading = (code: string, value: number, tsMs: number): WireReading => ({
  code,
  value,
  unit: code === GLUCOSE ? 'mg/dL' : code === SPO2 ? '%' : '/min',
  ts: new Date(tsMs).toISOString(),
});

/** Uniform noise in [-amplitude, amplitude], the same for the same index. */
const noise = (i: number, amplitude: number) =>
  (((i * 2_654_435_761) >>> 0) / 4_294_967_296 - 0.5) * 2 * amplitude;

describe('alerts through the real pipeline', () => {
  const clock = { offsetMs: 0, now: () => Date.now() + clock.offsetMs };
  let h: Harness;
  let seq = 1;

  before(async () => {
    h = await startHarness({ start: { alertClock: clock } });
  });
  after(async () => {
    await h.stop();
  });

  /** Enrols a device for a patient, connects it, and returns a publisher of reading batches. */
  async function device(deviceId: string, patientId: string) {
    const creds = await h.enrol(deviceId, patientId);
    const client = await h.connect(creds, deviceId);
    return async (batches: WireReading[][]) => {
      for (const readings of batches) {
        const payload = JSON.stringify({ seq: seq++, ts: new Date().toISOString(), readings });
        assert.equal(await publishQos1(client, `v1/devices/${deviceId}/telemetry`, payload), 0);
      }
      await h.vigil.alerts.idle();
    };
  }

  async function alertsOf(patientId: string): Promise<ApiAlert[]> {
    const r = await h.api(`/api/v1/alerts?patient=${patientId}`, { token: h.clinicianToken });
    assert.equal(r.status, 200, r.text);
    return (r.json as { alerts: ApiAlert[] }).alerts;
  }

  /** 1 Hz oximeter batches of 10 s ending now, SpO2 valued by `spo2At(second)`. */
  function oximeterTrace(seconds: number, spo2At: (s: number) => number, hrAt: (s: number) => number) {
    const start = Date.now() - seconds * 1000;
    const batches: WireReading[][] = [];
    for (let s = 0; s < seconds; s += 10) {
      const batch: WireReading[] = [];
      for (let k = s; k < Math.min(seconds, s + 10); k++) {
        batch.push(reading(HR, hrAt(k), start + k * 1000), reading(SPO2, spo2At(k), start + k * 1000));
      }
      batches.push(batch);
    }
    return batches;
  }

  it('raises one urgent low for glucose falling to 50 mg/dL, a predicted low before it, and escalates it', async () => {
    const publish = await device('cgm-glu', 'p-glu');
    // A care team lists only people who can answer an alert: its members are users first.
    for (const username of ['nurse-a', 'dr-b']) {
      const user = await h.api('/api/v1/users', { method: 'POST', body: { username, role: 'clinician' } });
      assert.equal(user.status, 201, user.text);
    }
    const team = await h.api('/api/v1/care-teams', {
      method: 'POST',
      body: { id: 'ward-3', name: 'Ward 3', members: ['nurse-a', 'dr-b', 'test-clinician'] },
    });
    assert.equal(team.status, 201, team.text);
    assert.equal((await h.api('/api/v1/care-teams/ward-3/patients/p-glu', { method: 'PUT' })).status, 200);
    // Ward 3 alone cares for this patient, so its order is the escalation ladder.
    const moved = await h.api('/api/v1/care-teams/harness-ward/patients/p-glu', { method: 'DELETE' });
    assert.equal(moved.status, 200, moved.text);

    // 130 -> 50 mg/dL over 40 min, one CGM reading every 5 min, each its own message, ending now.
    const start = Date.now() - 50 * MINUTE;
    const batches = Array.from({ length: 11 }, (_, i) => [
      reading(GLUCOSE, Math.round(Math.max(50, 130 - 2 * i * 5) + noise(i, 2)), start + i * 5 * MINUTE),
    ]);
    await publish(batches);

    const alerts = await alertsOf('p-glu');
    const urgentLows = alerts.filter((a) => a.condition === 'glucose-urgent-low');
    assert.equal(urgentLows.length, 1, JSON.stringify(alerts));
    const urgent = urgentLows[0]!;
    assert.deepEqual([urgent.state, urgent.urgency, urgent.assignedTo], ['open', 'urgent', 'nurse-a']);
    const predicted = alerts.find((a) => a.condition === 'glucose-predicted-urgent-low');
    assert.ok(predicted, 'a predicted urgent low was raised');
    assert.ok(Date.parse(predicted.onset) < Date.parse(urgent.onset), 'the prediction came first');
    assert.equal(predicted.resolution, 'superseded');

    clock.offsetMs += 11 * MINUTE;
    await h.vigil.alerts.tick();
    const r = await h.api(`/api/v1/alerts/${urgent.id}`, { token: h.clinicianToken });
    assert.equal(r.status, 200, r.text);
    const body = r.json as { alert: ApiAlert; history: Array<{ action: string; detail: string }> };
    assert.deepEqual([body.alert.assignedTo, body.alert.escalationLevel], ['dr-b', 1]);
    assert.deepEqual(
      body.history.map((e) => e.action),
      ['raise', 'escalate'],
    );

    const ack = await h.api(`/api/v1/alerts/${urgent.id}/ack`, { method: 'POST', token: h.clinicianToken });
    assert.equal(ack.status, 200, ack.text);
    assert.equal((ack.json as { alert: ApiAlert }).alert.state, 'acknowledged');
    const again = await h.api(`/api/v1/alerts/${urgent.id}/ack`, { method: 'POST', token: h.clinicianToken });
    assert.equal(again.status, 409);
  });

  it('raises nothing for a noisy SpO2 that dips below 90 % for 10 s', async () => {
    const publish = await device('ox-dip', 'p-dip');
    await publish(
      oximeterTrace(
        180,
        (s) => Math.round((s >= 80 && s < 90 ? 87 : 96) + noise(s, 1.5)),
        (s) => Math.round(74 + noise(s + 1000, 3)),
      ),
    );
    assert.deepEqual(await alertsOf('p-dip'), []);
  });

  it('raises SpO2 low for a desaturation sustained past 60 s', async () => {
    const publish = await device('ox-desat', 'p-desat');
    await publish(
      oximeterTrace(
        180,
        (s) => Math.round((s >= 60 ? 86 : 96) + noise(s, 1.5)),
        (s) => Math.round(88 + noise(s + 1000, 3)),
      ),
    );
    const alerts = await alertsOf('p-desat');
    assert.deepEqual(
      alerts.map((a) => [a.condition, a.state]),
      [['spo2-low', 'open']],
    );
  });

  it('raises signal loss for an assigned device that stops reporting', async () => {
    const publish = await device('cgm-quiet', 'p-quiet');
    await publish([[reading(GLUCOSE, 110, Date.now() - 1000)]]);
    clock.offsetMs += 5 * MINUTE;
    await h.vigil.alerts.tick();
    assert.deepEqual(await alertsOf('p-quiet'), []);
    clock.offsetMs += 16 * MINUTE;
    await h.vigil.alerts.tick();
    const alerts = await alertsOf('p-quiet');
    assert.deepEqual(
      alerts.map((a) => [a.condition, a.device, a.state]),
      [['signal-loss', 'cgm-quiet', 'open']],
    );
    await publish([[reading(GLUCOSE, 112, Date.now() - 1000)]]);
    assert.equal((await alertsOf('p-quiet'))[0]?.resolution, 'cleared');
  });

  it('raises signal loss for a device assigned while running that never reports', async () => {
    await h.enrol('cgm-never', 'p-never');
    clock.offsetMs += 21 * MINUTE;
    await h.vigil.alerts.tick();
    const alerts = await alertsOf('p-never');
    assert.deepEqual(
      alerts.map((a) => [a.condition, a.device, a.state]),
      [['signal-loss', 'cgm-never', 'open']],
    );
  });

  it('flags a sensor stuck at one value as questionable and raises no urgent alert', async () => {
    const publish = await device('ox-stuck', 'p-stuck');
    await publish(
      oximeterTrace(
        180,
        () => 84,
        () => 35,
      ),
    );
    assert.deepEqual(await alertsOf('p-stuck'), []);

    const dq = await h.api('/api/v1/data-quality?device=ox-stuck', { token: h.clinicianToken });
    assert.equal(dq.status, 200, dq.text);
    const notices = (dq.json as { notices: Array<{ issue: string; questionableReadings: number }> }).notices;
    assert.deepEqual(
      notices.map((n) => n.issue),
      ['flat-line'],
    );
    assert.ok(notices[0]!.questionableReadings > 100);
    const events = await h.api('/api/v1/security/events?device=ox-stuck&code=VIGIL_ERR_DATA_QUESTIONABLE');
    assert.equal((events.json as { events: unknown[] }).events.length, 1);
  });

  it('lets an administrator tune a patient rule, which clinicians can read but not change', async () => {
    const put = await h.api('/api/v1/patients/p-dip/alert-rules', {
      method: 'PUT',
      body: { spo2LowPercent: 88 },
    });
    assert.equal(put.status, 200, put.text);
    const read = await h.api('/api/v1/patients/p-dip/alert-rules', { token: h.clinicianToken });
    assert.equal((read.json as { effective: { spo2LowPercent: number } }).effective.spo2LowPercent, 88);
    const denied = await h.api('/api/v1/patients/p-dip/alert-rules', {
      method: 'PUT',
      body: {},
      token: h.clinicianToken,
    });
    assert.equal(denied.status, 403);
    const bad = await h.api('/api/v1/patients/p-dip/alert-rules', {
      method: 'PUT',
      body: { spo2LowPercent: 20 },
    });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /spo2LowPercent/);
    assert.equal((await h.api('/api/v1/alerts')).status, 403, 'administrators do not read alerts');
  });
});
