import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import pino from 'pino';
import { AuditLog } from '../src/audit/audit-log.ts';
import { CODES } from '../src/clinical/alerts/alert-conditions.ts';
import { AlertEngine } from '../src/clinical/alerts/alert-engine.ts';
import { AlertStore } from '../src/clinical/alerts/alerts.store.ts';
import { MINUTE, T0 } from '../src/clinical/alerts/test-traces.ts';
import { CareTeamStore } from '../src/clinical/care-teams.store.ts';
import { PatientStore } from '../src/clinical/patients.store.ts';
import { KeyRing } from '../src/crypto/key-ring.ts';
import { SecurityEvents } from '../src/detection/security-events.ts';
import { createMetrics } from '../src/observability/metrics.ts';
import { BACKENDS } from './support/backends.ts';

/** The engine over a real SQLite store, with patients p-1..p-3 and an optional ward team. */
async function setup(team: string[] | null) {
  const { store, cleanup } = await BACKENDS[0]!.open();
  const keys = new KeyRing(store.db, { id: 'mk', key: randomBytes(32) });
  const patients = new PatientStore(store.db, keys);
  for (const id of ['p-1', 'p-2', 'p-3']) await patients.add(id, { name: id });
  const careTeams = new CareTeamStore(store.db);
  if (team) {
    await careTeams.create('w', 'W');
    await careTeams.setMembers('w', team);
    for (const id of ['p-1', 'p-2', 'p-3']) await careTeams.addPatient('w', id);
  }
  const clock = {
    ms: T0,
    now() {
      return this.ms;
    },
  };
  const wearer = new Map<string, string>();
  const deps: ConstructorParameters<typeof AlertEngine>[0] = {
    store: new AlertStore(store.db, (id) => keys.dataKey('patient', id)),
    careTeams,
    audit: new AuditLog(store.db),
    security: new SecurityEvents(store.db, pino({ level: 'silent' }), createMetrics()),
    patientAt: (d) => wearer.get(d),
    clock,
    tickMs: 0,
    log: pino({ level: 'silent' }),
  };
  return { cleanup, deps, clock, careTeams, patients, wearer };
}

const urgentLow = (e: AlertEngine, deviceId: string, patientId: string, tsMs: number, value = 45) =>
  e.onStored({
    deviceId,
    receivedMs: tsMs,
    parts: [{ patientId, readings: [{ code: CODES.glucose, value, tsMs }] }],
  });

describe('alert engine after an erasure', () => {
  it("still escalates another patient's urgent alert, lists and restarts", async () => {
    const { cleanup, deps, clock, patients } = await setup(['nurse-a', 'dr-b']);
    const engine = new AlertEngine(deps);
    try {
      await engine.start([]);
      urgentLow(engine, 'cgm-1', 'p-1', T0);
      urgentLow(engine, 'cgm-2', 'p-2', T0 + 1000);
      await engine.idle();
      await patients.erase('p-1', clock.ms); // as the CLI does: the engine is not told
      clock.ms = T0 + 11 * MINUTE;
      await engine.tick();
      const [p2] = await engine.list({ patientId: 'p-2', urgency: 'urgent', limit: 10 });
      assert.equal(p2?.escalationLevel, 1);
      assert.deepEqual(
        (await engine.list({ urgency: 'urgent', limit: 200 })).map((a) => a.patientId),
        ['p-2'],
      );
      const restarted = new AlertEngine(deps);
      await restarted.start([]);
      assert.equal(restarted.summary().urgent, 1);
      await restarted.stop();
    } finally {
      await engine.stop();
      await cleanup();
    }
  });

  it("raises signal loss for another device in the tick that releases the erased patient's device", async () => {
    const { cleanup, deps, clock, patients, wearer } = await setup(null);
    const engine = new AlertEngine(deps);
    try {
      wearer.set('d-1', 'p-1');
      await engine.start([{ deviceId: 'd-1', patientId: 'p-1', lastSeenMs: T0 }]);
      clock.ms = T0 + 21 * MINUTE;
      await engine.tick();
      wearer.set('d-2', 'p-2');
      engine.watchAssigned([{ deviceId: 'd-2', patientId: 'p-2' }]);
      await patients.erase('p-1', clock.ms);
      wearer.delete('d-1');
      clock.ms = T0 + 42 * MINUTE;
      await engine.tick();
      const p2 = await engine.list({ patientId: 'p-2', limit: 10 });
      assert.deepEqual(
        p2.map((a) => a.condition),
        ['signal-loss'],
      );
    } finally {
      await engine.stop();
      await cleanup();
    }
  });

  it('resolves the erased patient\'s unresolved alerts as "erased" when told', async () => {
    const { cleanup, deps, clock, patients } = await setup(['nurse-a']);
    const engine = new AlertEngine(deps);
    try {
      await engine.start([]);
      urgentLow(engine, 'cgm-1', 'p-1', T0);
      await engine.idle();
      const [alert] = await engine.list({ patientId: 'p-1', limit: 10 });
      await patients.erase('p-1', clock.ms);
      await engine.forgetPatient('p-1', 'admin');
      assert.equal(engine.summary().open, 0);
      const history = await engine.events(alert!.id);
      assert.equal(history.at(-1)?.detail, 'patient erased');
    } finally {
      await engine.stop();
      await cleanup();
    }
  });
});

describe('alert engine timers', () => {
  it('gives devices a fresh grace period after a restart instead of raising signal loss at once', async () => {
    const { cleanup, deps, clock, wearer } = await setup(['nurse-a']);
    const engine = new AlertEngine(deps);
    try {
      wearer.set('d-1', 'p-1');
      await engine.start([{ deviceId: 'd-1', patientId: 'p-1', lastSeenMs: T0 - 25 * MINUTE }]);
      clock.ms = T0 + 5000;
      await engine.tick();
      assert.equal((await engine.list({ limit: 10 })).length, 0);
      clock.ms = T0 + 20 * MINUTE;
      await engine.tick();
      assert.deepEqual(
        (await engine.list({ limit: 10 })).map((a) => a.condition),
        ['signal-loss'],
      );
    } finally {
      await engine.stop();
      await cleanup();
    }
  });

  it('brings a snoozed urgent alert back to its holder when the snooze ends, with nobody above', async () => {
    const { cleanup, deps, clock } = await setup(['nurse-a']);
    const engine = new AlertEngine(deps);
    try {
      await engine.start([]);
      urgentLow(engine, 'cgm-1', 'p-1', T0);
      await engine.idle();
      const [alert] = await engine.list({ patientId: 'p-1', urgency: 'urgent', limit: 10 });
      await engine.snooze(alert!.id, 15, 'nurse-a');
      const told: string[] = [];
      engine.subscribe((a, action) => told.push(`${a.assignedTo}:${action}:${a.escalationLevel}`));
      clock.ms = T0 + 16 * MINUTE;
      await engine.tick();
      assert.equal((await engine.get(alert!.id)).snoozedUntilMs, null);
      // Receivers of alert.escalated tell a snooze's end from an escalation by the level (README).
      assert.deepEqual(told, [`nurse-a:escalate:${alert!.escalationLevel}`]);
      assert.equal((await engine.events(alert!.id)).at(-1)?.detail, 'snooze ended; back with nurse-a');
    } finally {
      await engine.stop();
      await cleanup();
    }
  });

  it("gives an urgent alert raised before the care team existed to the team's first member", async () => {
    const { cleanup, deps, clock, careTeams } = await setup(null);
    const engine = new AlertEngine(deps);
    try {
      await engine.start([]);
      urgentLow(engine, 'cgm-1', 'p-1', T0);
      await engine.idle();
      await careTeams.create('w', 'W');
      await careTeams.setMembers('w', ['nurse-a', 'dr-b']);
      await careTeams.addPatient('w', 'p-1');
      clock.ms = T0 + MINUTE;
      await engine.tick();
      const [alert] = await engine.list({ patientId: 'p-1', urgency: 'urgent', limit: 10 });
      assert.equal(alert?.assignedTo, 'nurse-a');
      assert.equal(alert?.escalationLevel, 0);
    } finally {
      await engine.stop();
      await cleanup();
    }
  });
});
