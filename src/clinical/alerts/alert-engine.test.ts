import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { BACKENDS } from '../../../test/support/backends.ts';
import { ApiTokens } from '../../access/api-tokens.ts';
import { UserStore } from '../../access/users.store.ts';
import { AuditLog } from '../../audit/audit-log.ts';
import { KeyRing } from '../../crypto/key-ring.ts';
import { SecurityEvents } from '../../detection/security-events.ts';
import { isVigilError } from '../../errors/catalogue.ts';
import { createMetrics } from '../../observability/metrics.ts';
import type { Store } from '../../store/database.ts';
import { CareTeamStore } from '../care-teams.store.ts';
import { PatientStore } from '../patients.store.ts';
import { CODES } from './alert-conditions.ts';
import { AlertEngine } from './alert-engine.ts';
import { AlertStore } from './alerts.store.ts';
import { glucoseTrace, MINUTE, perSecond, T0 } from './test-traces.ts';

/** A clock the test moves by hand. */
class ManualClock {
  constructor(public ms: number) {}
  now() {
    return this.ms;
  }
}

/** The engine over real stores, on SQLite and PostgreSQL alike (STYLE.md §7). */
for (const backend of BACKENDS) {
  describe(`alert engine on ${backend.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let engine: AlertEngine;
    let deps: ConstructorParameters<typeof AlertEngine>[0];
    let alertStore: AlertStore;
    let audit: AuditLog;
    let security: SecurityEvents;
    let keys: KeyRing;
    let careTeams: CareTeamStore;
    const clock = new ManualClock(T0);

    before(async () => {
      ({ store, cleanup } = await backend.open());
      keys = new KeyRing(store.db, { id: 'mk-test', key: randomBytes(32) });
      const patients = new PatientStore(store.db, keys);
      for (const id of ['p-1', 'p-2', 'p-3']) await patients.add(id, { name: `Patient ${id}` });
      careTeams = new CareTeamStore(store.db);
      await careTeams.create('ward-3', 'Ward 3 nurses');
      await careTeams.setMembers('ward-3', ['nurse-a', 'dr-b', 'dr-c']);
      await careTeams.addPatient('ward-3', 'p-1');
      audit = new AuditLog(store.db);
      security = new SecurityEvents(store.db, pino({ level: 'silent' }), createMetrics());
      alertStore = new AlertStore(store.db, (id) => keys.dataKey('patient', id));
      deps = { store: alertStore, careTeams, audit, security, patientAt: () => 'p-1', clock, tickMs: 0 };
      engine = new AlertEngine(deps);
      await engine.start([]);
    });
    after(async () => {
      await engine.stop();
      await security.flush();
      await cleanup();
    });

    const feed = (
      patientId: string,
      deviceId: string,
      readings: Array<{ code: string; value: number; tsMs: number }>,
    ) => {
      for (const r of readings) {
        clock.ms = Math.max(clock.ms, r.tsMs);
        engine.onStored({ deviceId, receivedMs: r.tsMs, parts: [{ patientId, readings: [r] }] });
      }
      return engine.idle();
    };

    it('stores one urgent low, sealed, assigned to the first care-team member, and escalates it in order', async () => {
      await feed('p-1', 'cgm-1', glucoseTrace({ from: 130, to: 50, minutes: 40, totalMinutes: 50 }));
      const urgent = await engine.list({ patientId: 'p-1', urgency: 'urgent', state: 'open', limit: 10 });
      const low = urgent.find((a) => a.condition === 'glucose-urgent-low');
      assert.ok(low);
      assert.equal(urgent.filter((a) => a.condition === 'glucose-urgent-low').length, 1);
      assert.equal(low.assignedTo, 'nurse-a');
      assert.equal(low.value, 50);
      const row = await store.db
        .selectFrom('alerts')
        .select('sealed_value')
        .where('id', '=', low.id)
        .executeTakeFirstOrThrow();
      assert.ok(!Buffer.from(row.sealed_value).toString('latin1').includes('50'), 'the value is sealed');

      clock.ms += 10 * MINUTE;
      await engine.tick();
      assert.equal((await engine.get(low.id)).assignedTo, 'dr-b');
      clock.ms += 10 * MINUTE;
      await engine.tick();
      const escalated = await engine.get(low.id);
      assert.deepEqual([escalated.assignedTo, escalated.escalationLevel], ['dr-c', 2]);
      const history = (await engine.events(low.id)).map((e) => e.action);
      assert.deepEqual(history, ['raise', 'escalate', 'escalate']);
    });

    it("passes an urgent alert on at once when its holder's account is disabled", async () => {
      const users = new UserStore(store.db, keys);
      const nurse = (await users.create({ username: 'nurse-g', role: 'clinician' })).user;
      await users.create({ username: 'dr-h', role: 'clinician' });
      await careTeams.create('ward-9', 'Ward 9');
      await careTeams.setMembers('ward-9', ['nurse-g', 'dr-h']);
      await new PatientStore(store.db, keys).add('p-9', { name: 'Patient p-9' });
      await careTeams.addPatient('ward-9', 'p-9');
      await feed('p-9', 'cgm-9', glucoseTrace({ from: 60, to: 45, minutes: 10, startMs: clock.ms + MINUTE }));
      const open = await engine.list({ patientId: 'p-9', urgency: 'urgent', state: 'open', limit: 10 });
      const low = open.find((a) => a.condition === 'glucose-urgent-low');
      assert.equal(low?.assignedTo, 'nurse-g');

      await users.setDisabled(nurse.id, true);
      clock.ms += MINUTE;
      await engine.tick();
      const passed = await engine.get((low as { id: string }).id);
      assert.equal(passed.assignedTo, 'dr-h', 'not left with nurse-g for escalateAfterMinutes');
      const last = (await engine.events(passed.id)).at(-1);
      assert.equal(last?.action, 'escalate');
    });

    /**
     * An urgent low for a new patient whose team is a pager's API token, then a doctor; the
     * token lives until `liveAfterFeedMs` after the last reading. Returns the alert, held by
     * the pager, and the token.
     */
    const urgentLowHeldByPager = async (ward: string, liveAfterFeedMs: number) => {
      const pager = `pager-${ward}`;
      const doctor = `dr-${ward}`;
      const patientId = `p-${ward}`;
      const startMs = clock.ms + MINUTE;
      const ttlSeconds = (startMs + 10 * MINUTE + liveAfterFeedMs - clock.ms) / 1000;
      const token = await new ApiTokens(store.db).create(
        { role: 'clinician', name: pager, ttlSeconds },
        clock.ms,
      );
      await new UserStore(store.db, keys).create({ username: doctor, role: 'clinician' });
      await careTeams.create(ward, ward);
      await careTeams.setMembers(ward, [pager, doctor]);
      await new PatientStore(store.db, keys).add(patientId, { name: `Patient ${patientId}` });
      await careTeams.addPatient(ward, patientId);
      await feed(patientId, `cgm-${ward}`, glucoseTrace({ from: 60, to: 45, minutes: 10, startMs }));
      const open = await engine.list({ patientId, urgency: 'urgent', state: 'open', limit: 10 });
      const low = open.find((a) => a.condition === 'glucose-urgent-low');
      assert.equal(low?.assignedTo, pager);
      return { low: low as NonNullable<typeof low>, token, doctor };
    };

    /** One tick a minute on: well inside escalateAfterMinutes of the alert's raise. */
    const passedOnAfterAMinute = async (low: { id: string; assignedMs: number }, doctor: string) => {
      clock.ms += MINUTE;
      assert.ok(clock.ms - low.assignedMs < 10 * MINUTE, 'not yet due to escalate for want of an answer');
      await engine.tick();
      const passed = await engine.get(low.id);
      assert.equal(passed.assignedTo, doctor, 'not left with a token that reaches no one');
      const last = (await engine.events(passed.id)).at(-1);
      assert.equal(last?.action, 'escalate');
      assert.match(last?.detail ?? '', /can no longer answer/);
    };

    it("passes an urgent alert on at once when its holder's API token has expired", async () => {
      const { low, token, doctor } = await urgentLowHeldByPager('ward-10', 30_000);
      assert.ok(token.expiresAt > clock.ms && token.expiresAt <= clock.ms + MINUTE);
      await passedOnAfterAMinute(low, doctor);
    });

    it("passes an urgent alert on at once when its holder's API token is revoked", async () => {
      const { low, token, doctor } = await urgentLowHeldByPager('ward-11', 60 * MINUTE);
      await new ApiTokens(store.db).revoke(token.id, clock.ms);
      assert.ok(token.expiresAt > clock.ms + MINUTE, 'in force but for the revocation');
      await passedOnAfterAMinute(low, doctor);
    });

    it('stops escalating once acknowledged, and audits who did it', async () => {
      await feed(
        'p-1',
        'ox-1',
        perSecond(CODES.spo2, 120, () => 85, clock.ms),
      );
      const [spo2] = await engine
        .list({ patientId: 'p-1', state: 'open', limit: 50 })
        .then((l) => l.filter((a) => a.condition === 'spo2-low'));
      assert.ok(spo2);
      const acked = await engine.acknowledge(spo2.id, 'token:nurse-a');
      assert.equal(acked.state, 'acknowledged');
      // Inside urgentRealertMinutes (30): past it, an urgent alert still active comes back open.
      clock.ms += 25 * MINUTE;
      await engine.tick();
      assert.equal((await engine.get(spo2.id)).escalationLevel, 0);
      await assert.rejects(
        engine.acknowledge(spo2.id, 'token:nurse-a'),
        (e) => isVigilError(e) && e.code === 'VIGIL_ERR_ALERT_STATE',
      );
      const entries = await store.db
        .selectFrom('audit_log')
        .selectAll()
        .where('resource', '=', `Alert/${spo2.id}`)
        .execute();
      assert.deepEqual(
        entries.map((e) => [e.actor, e.action]),
        [
          ['system:alerts', 'alert.raise'],
          ['token:nurse-a', 'alert.acknowledge'],
        ],
      );
      assert.equal((await audit.verify()).brokenAt, undefined);
    });

    it('resolves by hand and raises afresh only when the condition is met again', async () => {
      const start = clock.ms;
      await feed(
        'p-2',
        'ox-2',
        perSecond(CODES.spo2, 90, () => 85, start),
      );
      const [open] = await engine.list({ patientId: 'p-2', state: 'open', limit: 10 });
      assert.ok(open);
      await engine.resolve(open.id, 'token:nurse-a');
      await feed(
        'p-2',
        'ox-2',
        perSecond(CODES.spo2, 30, () => 85, start + 90_000),
      );
      assert.equal((await engine.list({ patientId: 'p-2', state: 'open', limit: 10 })).length, 0);
      await feed(
        'p-2',
        'ox-2',
        perSecond(CODES.spo2, 40, () => 85, start + 120_000),
      );
      assert.equal((await engine.list({ patientId: 'p-2', state: 'open', limit: 10 })).length, 1);
    });

    it('snoozes within the limit and refuses longer', async () => {
      const [open] = await engine.list({ patientId: 'p-2', state: 'open', limit: 10 });
      assert.ok(open);
      await assert.rejects(engine.snooze(open.id, 120, 'token:nurse-a'), isVigilError);
      const snoozed = await engine.snooze(open.id, 30, 'token:nurse-a');
      assert.equal(snoozed.snoozedUntilMs, clock.ms + 30 * MINUTE);
    });

    it('takes up an alert left open at a restart and clears it when the condition is gone', async () => {
      const [open] = await engine.list({ patientId: 'p-2', state: 'open', limit: 10 });
      assert.ok(open);
      const restarted = new AlertEngine(deps);
      await restarted.start([]);
      const start = clock.ms + 1000;
      for (const r of perSecond(CODES.spo2, 90, () => 97, start)) {
        clock.ms = r.tsMs;
        restarted.onStored({
          deviceId: 'ox-2',
          receivedMs: r.tsMs,
          parts: [{ patientId: 'p-2', readings: [r] }],
        });
      }
      await restarted.stop();
      const after = await restarted.get(open.id);
      assert.deepEqual([after.state, after.resolution], ['resolved', 'cleared']);
    });

    it('applies per-patient rule overrides and keeps them across a restart of the engine', async () => {
      await engine.setRules('p-3', { spo2LowPercent: 85 }, 'token:admin');
      await feed(
        'p-3',
        'ox-3',
        perSecond(CODES.spo2, 120, () => 87, clock.ms),
      );
      assert.equal((await engine.list({ patientId: 'p-3', limit: 10 })).length, 0);
      const restarted = new AlertEngine(deps);
      await restarted.start([]);
      assert.equal(restarted.rulesFor('p-3').spo2LowPercent, 85);
      assert.deepEqual(restarted.overridesFor('p-3'), { spo2LowPercent: 85 });
      await restarted.stop();
      await assert.rejects(engine.setRules('p-3', { spo2LowPercent: 'low' }, 'token:admin'), isVigilError);
    });

    it('opens one data-quality notice per device and issue, and records a security event', async () => {
      await feed(
        'p-3',
        'ox-9',
        perSecond(CODES.heartRate, 90, () => 33, clock.ms),
      );
      const notices = await alertStore.notices({ deviceId: 'ox-9', limit: 10 });
      assert.equal(notices.length, 1);
      assert.equal(notices[0]!.issue, 'flat-line');
      assert.ok(notices[0]!.count >= 50);
      await security.flush();
      const events = await security.list({ limit: 10, deviceId: 'ox-9' });
      assert.deepEqual(
        events.map((e) => e.code),
        ['VIGIL_ERR_DATA_QUESTIONABLE'],
      );
      assert.equal(
        (await engine.list({ patientId: 'p-3', limit: 10 })).length,
        0,
        'no urgent heart-rate alert',
      );
    });
  });
}
