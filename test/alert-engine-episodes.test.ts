import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import pino from 'pino';
import { AuditLog } from '../src/audit/audit-log.ts';
import { CODES } from '../src/clinical/alerts/alert-conditions.ts';
import { AlertEngine } from '../src/clinical/alerts/alert-engine.ts';
import type { Alert } from '../src/clinical/alerts/alert-lifecycle.ts';
import { type AlertEvent, AlertStore } from '../src/clinical/alerts/alerts.store.ts';
import { glucoseTrace, MINUTE, T0 } from '../src/clinical/alerts/test-traces.ts';
import { CareTeamStore } from '../src/clinical/care-teams.store.ts';
import { PatientStore } from '../src/clinical/patients.store.ts';
import { KeyRing } from '../src/crypto/key-ring.ts';
import { SecurityEvents } from '../src/detection/security-events.ts';
import { createMetrics } from '../src/observability/metrics.ts';
import { BACKENDS } from './support/backends.ts';

/** A fake fault on a real SQLite store: the next `failNewAlerts` inserts of a new alert throw. */
class FlakyAlertStore extends AlertStore {
  failNewAlerts = 0;
  override async saveStep(a: Alert, step: { isNew: boolean; event?: AlertEvent }): Promise<void> {
    if (step.isNew && this.failNewAlerts > 0) {
      this.failNewAlerts--;
      throw new Error('fake fault: database busy');
    }
    return super.saveStep(a, step);
  }
}

/** The engine over a real SQLite store, a fake clock, patient p-1 on a ward of two. */
async function setup() {
  const { store, cleanup } = await BACKENDS[0]!.open();
  const keys = new KeyRing(store.db, { id: 'mk', key: randomBytes(32) });
  const patients = new PatientStore(store.db, keys);
  for (const id of ['p-1', 'p-2']) await patients.add(id, { name: id });
  const careTeams = new CareTeamStore(store.db);
  await careTeams.create('w', 'W');
  await careTeams.setMembers('w', ['nurse-a', 'dr-b']);
  await careTeams.addPatient('w', 'p-1');
  const clock = {
    ms: T0,
    now() {
      return this.ms;
    },
  };
  const wearer = new Map<string, string>();
  const alerts = new FlakyAlertStore(store.db, (id) => keys.dataKey('patient', id));
  const deps: ConstructorParameters<typeof AlertEngine>[0] = {
    store: alerts,
    careTeams,
    audit: new AuditLog(store.db),
    security: new SecurityEvents(store.db, pino({ level: 'silent' }), createMetrics()),
    patientAt: (d) => wearer.get(d),
    clock,
    tickMs: 0,
    log: pino({ level: 'silent' }),
  };
  return { cleanup, deps, clock, alerts, wearer };
}

/** One glucose reading, stored and received at its own time, written before the next. */
async function glucose(
  e: AlertEngine,
  clock: { ms: number },
  value: number,
  tsMs: number,
  deviceId = 'cgm-1',
) {
  clock.ms = Math.max(clock.ms, tsMs);
  e.onStored({
    deviceId,
    receivedMs: clock.ms,
    parts: [{ patientId: 'p-1', readings: [{ code: CODES.glucose, value, tsMs }] }],
  });
  await e.idle();
}

describe('alert engine: a failed write', () => {
  it('raises the alert on the next reading when writing its raise failed once', async () => {
    const { cleanup, deps, clock, alerts } = await setup();
    const engine = new AlertEngine(deps);
    try {
      await engine.start([]);
      alerts.failNewAlerts = 1;
      for (const r of glucoseTrace({ from: 50, to: 36, minutes: 40 }))
        await glucose(engine, clock, r.value, r.tsMs);
      const conditions = (await engine.list({ patientId: 'p-1', limit: 10 })).map((a) => a.condition).sort();
      assert.deepEqual(conditions, ['glucose-low', 'glucose-urgent-low']);
      const [urgent] = await engine.list({ patientId: 'p-1', urgency: 'urgent', limit: 10 });
      assert.equal(urgent?.onsetMs, T0 + 5 * MINUTE, 'raised by the reading after the failed write');
      assert.equal(urgent?.value, 36, 'and updated with the worse values after it');
    } finally {
      await engine.stop();
      await cleanup();
    }
  });
});

describe('alert engine: urgent alerts that outlast their answer', () => {
  it('puts an acknowledged urgent low still falling back open, with the first of the team, after 30 min', async () => {
    const { cleanup, deps, clock } = await setup();
    const engine = new AlertEngine(deps);
    try {
      await engine.start([]);
      await glucose(engine, clock, 53, T0);
      const [low] = await engine.list({ patientId: 'p-1', urgency: 'urgent', limit: 10 });
      clock.ms = T0 + 11 * MINUTE;
      await engine.tick(); // not acknowledged in 10 min: with dr-b now
      await engine.acknowledge(low!.id, 'dr-b');
      const told: string[] = [];
      engine.subscribe((a, action) => told.push(`${action}:${a.state}:${a.assignedTo}:${a.escalationLevel}`));
      for (let m = 12; m <= 71; m++) {
        clock.ms = T0 + m * MINUTE;
        if (m % 5 === 0) await glucose(engine, clock, Math.max(40, 53 - m), clock.ms);
        await engine.tick();
      }
      const history = await engine.events(low!.id);
      const back = history.filter((e) => e.detail.startsWith('still active'));
      assert.equal(back.length, 1);
      assert.equal(back[0]?.ts, T0 + 41 * MINUTE, '30 min after the acknowledgement at 11 min');
      assert.ok(told.includes('escalate:open:nurse-a:0'), told.join(' '));
      const now = await engine.get(low!.id);
      assert.equal(now.state, 'open');
      assert.deepEqual([now.assignedTo, now.escalationLevel], ['dr-b', 1], 'and escalates again, unanswered');
    } finally {
      await engine.stop();
      await cleanup();
    }
  });

  it('holds a snooze of an urgent alert to 30 min, even when 60 were asked for', async () => {
    const { cleanup, deps, clock } = await setup();
    const engine = new AlertEngine(deps);
    try {
      await engine.start([]);
      await glucose(engine, clock, 45, T0);
      const [low] = await engine.list({ patientId: 'p-1', urgency: 'urgent', limit: 10 });
      const snoozed = await engine.snooze(low!.id, 60, 'nurse-a');
      assert.equal(snoozed.snoozedUntilMs, T0 + 30 * MINUTE);
      clock.ms = T0 + 30 * MINUTE;
      await engine.tick();
      const last = (await engine.events(low!.id)).at(-1);
      assert.deepEqual([last?.action, last?.detail], ['escalate', 'snooze ended; back with nurse-a']);
    } finally {
      await engine.stop();
      await cleanup();
    }
  });
});

describe('alert engine: a second device', () => {
  it("raises an urgent low from a meter synced after the CGM's newer readings", async () => {
    const { cleanup, deps, clock } = await setup();
    const engine = new AlertEngine(deps);
    try {
      await engine.start([]);
      // With a CGM's noise: one exact value for 25 min would be a frozen sensor, and prove nothing.
      for (const r of glucoseTrace({ from: 110, to: 110, minutes: 60, noiseMgDl: 4 }))
        await glucose(engine, clock, r.value, r.tsMs);
      clock.ms = T0 + 61 * MINUTE;
      await glucose(engine, clock, 42, T0 + 58 * MINUTE, 'meter-1');
      const [low] = await engine.list({ patientId: 'p-1', urgency: 'urgent', limit: 10 });
      assert.deepEqual(
        [low?.condition, low?.value, low?.onsetMs],
        ['glucose-urgent-low', 42, T0 + 58 * MINUTE],
      );
    } finally {
      await engine.stop();
      await cleanup();
    }
  });
});

describe('alert engine: a restart', () => {
  it('resolves a device alert whose device was put on another patient while the server was down', async () => {
    const { cleanup, deps, clock, wearer } = await setup();
    const engine = new AlertEngine(deps);
    try {
      wearer.set('d-1', 'p-1');
      await engine.start([{ deviceId: 'd-1', patientId: 'p-1', lastSeenMs: T0 }]);
      clock.ms = T0 + 21 * MINUTE;
      await engine.tick();
      const [lost] = await engine.list({ patientId: 'p-1', limit: 10 });
      assert.equal(lost?.condition, 'signal-loss');
      await engine.stop();
      wearer.set('d-1', 'p-2');
      const restarted = new AlertEngine(deps);
      await restarted.start([{ deviceId: 'd-1', patientId: 'p-2', lastSeenMs: T0 }]);
      await restarted.stop();
      const after = await restarted.get(lost!.id);
      assert.deepEqual([after.state, after.resolution], ['resolved', 'cleared']);
      assert.equal((await restarted.events(lost!.id)).at(-1)?.detail, 'device reassigned');
      assert.equal(restarted.summary().open, 0);
    } finally {
      await engine.stop();
      await cleanup();
    }
  });
});
