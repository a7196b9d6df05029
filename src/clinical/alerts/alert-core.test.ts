import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Reading } from '../readings-codec.ts';
import { CODES } from './alert-conditions.ts';
import { AlertCore, type CoreEvent } from './alert-core.ts';
import { DEFAULT_ALERT_RULES } from './alert-rules.ts';
import { MINUTE, perSecond, T0 } from './test-traces.ts';

function feed(
  core: AlertCore,
  deviceId: string,
  patientId: string,
  readings: Reading[],
  batch = 10,
): CoreEvent[] {
  const out: CoreEvent[] = [];
  for (let i = 0; i < readings.length; i += batch) {
    const part = readings.slice(i, i + batch);
    const receivedMs = part.at(-1)!.tsMs + 500;
    core.observeMessage({ deviceId, receivedMs, parts: [{ patientId, readings: part }] }, receivedMs, out);
  }
  return out;
}
const alerts = (events: CoreEvent[]) =>
  events.flatMap((e) => (e.type === 'alert' ? [`${e.signal.kind}:${e.signal.condition}`] : []));

describe('alert core', () => {
  it('flags a stuck oximeter as questionable and raises no urgent alert', () => {
    const core = new AlertCore(() => DEFAULT_ALERT_RULES);
    const stuck = perSecond(CODES.heartRate, 180, () => 35).flatMap((r) => [
      r,
      { ...r, code: CODES.spo2, value: 84 },
    ]);
    const events = feed(core, 'ox-1', 'p-1', stuck, 20);
    assert.deepEqual(alerts(events), []);
    const quality = events.filter((e) => e.type === 'quality');
    assert.ok(quality.length > 0 && quality.every((e) => e.type === 'quality' && e.issue === 'flat-line'));
  });

  it('raises SpO2 low for a paced patient whose heart rate holds at exactly 60', () => {
    const core = new AlertCore(() => DEFAULT_ALERT_RULES);
    const paced = perSecond(CODES.heartRate, 600, () => 60).flatMap((r, s) => [
      r,
      { ...r, code: CODES.spo2, value: s < 120 ? 96 : 82 },
    ]);
    assert.deepEqual(alerts(feed(core, 'ox-1', 'p-1', paced, 20)), ['raise:spo2-low']);
  });

  it('raises signal loss for an assigned device silent for N minutes, and clears when it is heard again', () => {
    const core = new AlertCore(() => DEFAULT_ALERT_RULES);
    feed(core, 'cgm-1', 'p-1', [{ code: CODES.glucose, value: 110, tsMs: T0 }]);
    const out: CoreEvent[] = [];
    const assigned = () => 'p-1';
    core.tick(T0 + 19 * MINUTE, assigned, out);
    assert.deepEqual(alerts(out), []);
    core.tick(T0 + 21 * MINUTE, assigned, out);
    core.tick(T0 + 22 * MINUTE, assigned, out);
    assert.deepEqual(alerts(out), ['raise:signal-loss']);
    const back = feed(core, 'cgm-1', 'p-1', [{ code: CODES.glucose, value: 112, tsMs: T0 + 23 * MINUTE }]);
    assert.deepEqual(alerts(back), ['clear:signal-loss']);
  });

  it('stops watching a device that is no longer assigned', () => {
    const core = new AlertCore(() => DEFAULT_ALERT_RULES);
    core.watchDevice('cgm-1', 'p-1', T0);
    const out: CoreEvent[] = [];
    core.tick(T0 + 60 * MINUTE, () => undefined, out);
    assert.deepEqual(alerts(out), []);
  });

  it('raises battery low under the threshold and clears it only 5 points above', () => {
    const core = new AlertCore(() => DEFAULT_ALERT_RULES);
    const out: CoreEvent[] = [];
    for (const battery of [30, 14, 12, 16, 19, 21]) {
      core.observeStatus('ox-1', 'p-1', { tsMs: T0, batteryPercent: battery }, T0, T0, out);
    }
    assert.deepEqual(alerts(out), ['raise:battery-low', 'clear:battery-low']);
  });

  it('attributes readings to the patient of each part', () => {
    const core = new AlertCore(() => DEFAULT_ALERT_RULES);
    const out: CoreEvent[] = [];
    core.observeMessage(
      {
        deviceId: 'cgm-1',
        receivedMs: T0,
        parts: [
          { patientId: 'p-1', readings: [{ code: CODES.glucose, value: 45, tsMs: T0 - MINUTE }] },
          { patientId: 'p-2', readings: [{ code: CODES.glucose, value: 110, tsMs: T0 }] },
        ],
      },
      T0,
      out,
    );
    assert.deepEqual(
      out.map((e) => (e.type === 'alert' ? `${e.patientId}:${e.signal.condition}` : '')),
      ['p-1:glucose-urgent-low', 'p-1:glucose-low'],
    );
  });
});
