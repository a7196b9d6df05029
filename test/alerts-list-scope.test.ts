/**
 * GET /api/v1/alerts asks the database only for the alerts of the patients the caller may see:
 * with hundreds of other patients' alerts stored, a clinician's list reads (and decrypts) their
 * own alerts and nothing else, and a clinician who may see nobody reads no alert at all.
 * The route runs over the real stores, on SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ApiTokens } from '../src/access/api-tokens.ts';
import { PatientAccess, type Requester } from '../src/access/patient-access.ts';
import { createPatientGate } from '../src/access/patient-gate.ts';
import { AuditLog } from '../src/audit/audit-log.ts';
import { AlertEngine } from '../src/clinical/alerts/alert-engine.ts';
import type { Alert } from '../src/clinical/alerts/alert-lifecycle.ts';
import { type AlertFilter, AlertStore } from '../src/clinical/alerts/alerts.store.ts';
import { registerAlertRoutes } from '../src/clinical/alerts/routes.ts';
import { CareTeamStore } from '../src/clinical/care-teams.store.ts';
import { PatientStore } from '../src/clinical/patients.store.ts';
import { KeyRing } from '../src/crypto/key-ring.ts';
import type { App } from '../src/server/http.ts';
import type { Store } from '../src/store/database.ts';
import { anAlert } from './support/alert-steps.ts';
import { BACKENDS } from './support/backends.ts';
import { RowsRead } from './support/rows-read.ts';
import { testHttpServer } from './support/test-http-server.ts';

const T0 = Date.parse('2026-12-04T10:00:00Z');
const OWN = ['p-own-1', 'p-own-2', 'p-own-3'];
const OTHER_PATIENTS = 100;
const ALERTS_PER_OTHER = 5;

/** The real store, recording what the route asked of it and whose values it decrypted. */
class RecordingAlertStore extends AlertStore {
  readonly lists: AlertFilter[] = [];
  override list(f: AlertFilter): Promise<Alert[]> {
    this.lists.push(f);
    return super.list(f);
  }
}

/** One open alert per patient, condition and device: each its own device. */
const alert = (patientId: string, n: number, openedMs: number): Alert =>
  anAlert(`00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, patientId, openedMs, {
    deviceId: `cgm-${n}`,
  });

for (const backend of BACKENDS) {
  describe(`alert list scope on ${backend.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let app: App;
    let access: PatientAccess;
    let alertStore: RecordingAlertStore;
    const read = new RowsRead('alerts');
    /** Patients whose alert values were decrypted. */
    const decrypted = new Set<string>();
    const tokens: Record<'ward' | 'nobody' | 'feed' | 'glass', string> = {
      ward: '',
      nobody: '',
      feed: '',
      glass: '',
    };

    before(async () => {
      ({ store, cleanup } = await backend.open());
      const keys = new KeyRing(store.db, { id: 'mk-test', key: randomBytes(32) });
      const patients = new PatientStore(store.db, keys);
      const careTeams = new CareTeamStore(store.db);
      const audit = new AuditLog(store.db);
      access = new PatientAccess(store.db);
      const ensurePatientKey = async (id: string) => {
        await keys.dataKey('patient', id);
      };
      alertStore = new RecordingAlertStore(store.db.withPlugin(read), (id) => {
        decrypted.add(id);
        return keys.dataKey('patient', id);
      });
      const engine = new AlertEngine({
        store: alertStore,
        careTeams,
        audit,
        security: { record: () => {} },
        patientAt: () => undefined,
        tickMs: 0,
      });

      for (const id of [...OWN, 'p-refuses-alerts', 'p-emergency']) await patients.add(id, { name: id });
      await careTeams.create('ward', 'Ward 7');
      await careTeams.setMembers('ward', ['dr-ward']);
      for (const id of OWN) await careTeams.addPatient('ward', id);
      await access.recordConsent(
        'p-refuses-alerts',
        {
          decision: 'deny',
          purposes: ['*'],
          categories: ['alerts'],
          periodStart: T0 - 1000,
          periodEnd: null,
        },
        'admin',
      );
      // The clinician's alerts are the oldest: newer ones of other wards would fill a limit taken first.
      let n = 0;
      for (const [i, id] of OWN.entries()) await alertStore.insert(alert(id, n++, T0 + i));
      // Two at the same moment: the list orders a tie by id.
      await alertStore.insert(alert('p-own-1', n++, T0 + 2));
      for (let p = 0; p < OTHER_PATIENTS; p++) {
        // Not registered: alerts may name such patients (imports), and an integration sees them.
        for (let k = 0; k < ALERTS_PER_OTHER; k++)
          await alertStore.insert(alert(`p-other-${p}`, n++, T0 + 1000 + p * ALERTS_PER_OTHER + k));
      }
      await alertStore.insert(alert('p-refuses-alerts', n++, T0 + 100_000));
      await alertStore.insert(alert('p-emergency', n++, T0 + 100_001));

      const api = new ApiTokens(store.db);
      const token = async (role: Requester['role'], name: string) =>
        (await api.create({ role, name, ttlSeconds: 600 })).token;
      tokens.ward = await token('clinician', 'dr-ward');
      tokens.nobody = await token('clinician', 'dr-nobody');
      tokens.glass = await token('clinician', 'dr-glass');
      tokens.feed = await token('integration', 'lab-feed');

      ({ app } = await testHttpServer(api));
      const gate = createPatientGate(access, audit, ensurePatientKey);
      registerAlertRoutes(app, { engine, store: alertStore, patients, audit, ensurePatientKey, gate });
      await app.ready();
    });
    after(async () => {
      await app.close();
      await cleanup();
    });

    /** Lists as the token, counting only what this request read. */
    const list = async (token: string, query: string) => {
      read.reset();
      decrypted.clear();
      alertStore.lists.length = 0;
      const r = await app.inject({
        url: `/api/v1/alerts${query}`,
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(r.statusCode, 200, r.body);
      return (r.json() as { alerts: Array<{ id: string; patient: string }> }).alerts;
    };
    const auditedPatients = async (actor: string) => {
      const rows = await store.db
        .selectFrom('audit_log')
        .select('patient_id')
        .where('action', '=', 'alert.list')
        .where('actor', '=', actor)
        .execute();
      return rows.map((r) => r.patient_id);
    };

    it("answers a clinician with their own alerts out of 500 others', reading only theirs", async () => {
      const alerts = await list(tokens.ward, '?limit=10');
      assert.deepEqual(
        alerts.map((a) => [a.patient, a.id.slice(-2)]),
        [
          ['p-own-3', '02'],
          ['p-own-1', '03'],
          ['p-own-2', '01'],
          ['p-own-1', '00'],
        ],
      );
      assert.deepEqual(
        alertStore.lists.map((f) => [...(f.patients?.only ?? [])].sort()),
        [OWN],
      );
      assert.equal(read.rows, 4, 'no other patient’s alert row is read');
      assert.deepEqual([...decrypted].sort(), OWN, 'no other patient’s alert is decrypted');
      assert.deepEqual(
        (await auditedPatients('token:dr-ward')).sort(),
        OWN,
        'one audit entry per patient shown',
      );
    });

    it('takes the limit in the query, in list order (newest first, then by id)', async () => {
      const alerts = await list(tokens.ward, '?limit=2&state=open&urgency=urgent');
      assert.deepEqual(
        alerts.map((a) => a.id.slice(-2)),
        ['02', '03'],
      );
      assert.equal(read.rows, 2);
      assert.deepEqual(
        (await list(tokens.ward, '?patient=p-own-1')).map((a) => a.id.slice(-2)),
        ['03', '00'],
      );
      assert.equal(read.rows, 2);
    });

    it('reads no alert at all for a clinician who may see no patient', async () => {
      assert.deepEqual(await list(tokens.nobody, ''), []);
      assert.deepEqual([read.tableQueries, read.rows, decrypted.size], [0, 0, 0]);
      assert.deepEqual(await auditedPatients('token:dr-nobody'), [null], 'the empty list is audited once');
    });

    it('shows a patient under a running break-glass grant, even one whose consent refuses alerts', async () => {
      assert.deepEqual(await list(tokens.glass, ''), []);
      await access.breakGlass(
        { role: 'clinician', name: 'dr-glass', actor: 'token:dr-glass' },
        'p-refuses-alerts',
        'collapsed in the car park, no care team on site',
      );
      assert.deepEqual(
        (await list(tokens.glass, '')).map((a) => a.patient),
        ['p-refuses-alerts'],
      );
      assert.equal(read.rows, 1);
    });

    it('gives an integration every patient but those whose consent refuses alerts, the limit taken in SQL', async () => {
      const newest = await list(tokens.feed, '?limit=3');
      assert.deepEqual(
        newest.map((a) => a.patient),
        ['p-emergency', `p-other-${OTHER_PATIENTS - 1}`, `p-other-${OTHER_PATIENTS - 1}`],
      );
      assert.equal(read.rows, 3);
      assert.deepEqual(
        alertStore.lists.map((f) => [...(f.patients?.except ?? [])]),
        [['p-refuses-alerts']],
      );
      const all = await list(tokens.feed, '?limit=1000');
      assert.equal(all.length, OWN.length + 1 + OTHER_PATIENTS * ALERTS_PER_OTHER + 1);
      assert.ok(!all.some((a) => a.patient === 'p-refuses-alerts'));
    });
  });
}
