/**
 * GET /api/v1/data-quality names a device and the patient whose readings it judged questionable.
 * A clinician sees only the notices of the patients the gate opens to them for vital signs, the
 * filter and the limit taken in the query, one audit entry per patient shown; administrators and
 * security officers, who act on devices and read no patient data, see every device's notices
 * without the patient. The route runs over the real stores, on SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ApiTokens } from '../src/access/api-tokens.ts';
import { PatientAccess, type Requester } from '../src/access/patient-access.ts';
import { createPatientGate } from '../src/access/patient-gate.ts';
import { AuditLog } from '../src/audit/audit-log.ts';
import { AlertEngine } from '../src/clinical/alerts/alert-engine.ts';
import { AlertStore } from '../src/clinical/alerts/alerts.store.ts';
import { registerAlertRoutes } from '../src/clinical/alerts/routes.ts';
import { CareTeamStore } from '../src/clinical/care-teams.store.ts';
import { PatientStore } from '../src/clinical/patients.store.ts';
import { KeyRing } from '../src/crypto/key-ring.ts';
import type { App } from '../src/server/http.ts';
import type { Store } from '../src/store/database.ts';
import { BACKENDS } from './support/backends.ts';
import { RowsRead } from './support/rows-read.ts';
import { testHttpServer } from './support/test-http-server.ts';

const T0 = Date.parse('2026-12-04T10:00:00Z');
const OWN = ['p-own-1', 'p-own-2', 'p-own-3'];
const OTHER_PATIENTS = 60;

interface NoticeBody {
  id: number;
  device: string;
  patient: string | null;
  issue: string;
  cleared: string | null;
}

for (const backend of BACKENDS) {
  describe(`data-quality notices scope on ${backend.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let app: App;
    let access: PatientAccess;
    let alertStore: AlertStore;
    const read = new RowsRead('data_quality_notices');
    const tokens: Record<'ward' | 'nobody' | 'glass' | 'admin' | 'security', string> = {
      ward: '',
      nobody: '',
      glass: '',
      admin: '',
      security: '',
    };
    let totalNotices = 0;

    const note = (deviceId: string, patientId: string, tsMs: number) => {
      totalNotices++;
      return alertStore.noteQuality({ deviceId, patientId, issue: 'flat-line', count: 3, tsMs });
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
      alertStore = new AlertStore(store.db.withPlugin(read), (id) => keys.dataKey('patient', id));
      const engine = new AlertEngine({
        store: alertStore,
        careTeams,
        audit,
        security: { record: () => {} },
        patientAt: () => undefined,
        tickMs: 0,
      });

      for (const id of [...OWN, 'p-refuses-vitals', 'p-emergency']) await patients.add(id, { name: id });
      await careTeams.create('ward', 'Ward 7');
      await careTeams.setMembers('ward', ['dr-ward']);
      for (const id of [...OWN, 'p-refuses-vitals']) await careTeams.addPatient('ward', id);
      await access.recordConsent(
        'p-refuses-vitals',
        {
          decision: 'deny',
          purposes: ['*'],
          categories: ['vital-signs'],
          periodStart: T0 - 1000,
          periodEnd: null,
        },
        'admin',
      );
      // The ward's notices are the oldest: newer ones of other patients would fill a limit taken first.
      for (const [i, id] of OWN.entries()) await note(`ox-own-${i}`, id, T0 + i);
      await note('cgm-own-1', 'p-own-1', T0 + 10);
      await note('ox-refuses', 'p-refuses-vitals', T0 + 20);
      for (let p = 0; p < OTHER_PATIENTS; p++) await note(`ox-other-${p}`, `p-other-${p}`, T0 + 1000 + p);
      await note('ox-emergency', 'p-emergency', T0 + 100_000);

      const api = new ApiTokens(store.db);
      const token = async (role: Requester['role'], name: string) =>
        (await api.create({ role, name, ttlSeconds: 600 })).token;
      tokens.ward = await token('clinician', 'dr-ward');
      tokens.nobody = await token('clinician', 'dr-nobody');
      tokens.glass = await token('clinician', 'dr-glass');
      tokens.admin = await token('admin', 'ops');
      tokens.security = await token('security', 'soc');

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
    const list = async (token: string, query = '') => {
      read.reset();
      const r = await app.inject({
        url: `/api/v1/data-quality${query}`,
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(r.statusCode, 200, r.body);
      return (r.json() as { notices: NoticeBody[] }).notices;
    };
    const audited = async (actor: string) => {
      const rows = await store.db
        .selectFrom('audit_log')
        .select(['patient_id', 'resource'])
        .where('action', '=', 'data-quality.list')
        .where('actor', '=', actor)
        .orderBy('seq')
        .execute();
      return rows.map((r) => [r.patient_id, r.resource]);
    };

    it("shows a clinician only their patients' notices out of many others', reading only those", async () => {
      const notices = await list(tokens.ward, '?limit=10');
      assert.deepEqual(
        notices.map((n) => [n.device, n.patient]),
        [
          ['cgm-own-1', 'p-own-1'],
          ['ox-own-2', 'p-own-3'],
          ['ox-own-1', 'p-own-2'],
          ['ox-own-0', 'p-own-1'],
        ],
      );
      assert.equal(read.rows, 4, 'no other patient’s notice is read');
      assert.deepEqual(
        (await audited('token:dr-ward')).map(([p]) => p).sort(),
        OWN,
        'one audit entry per patient shown',
      );
      assert.deepEqual((await audited('token:dr-ward'))[0], ['p-own-1', 'Patient/p-own-1/DataQualityNotice']);
    });

    it('takes the limit and the device filter in the query', async () => {
      const newest = await list(tokens.ward, '?limit=2&open=true');
      assert.deepEqual(
        newest.map((n) => n.device),
        ['cgm-own-1', 'ox-own-2'],
      );
      assert.equal(read.rows, 2);
      assert.deepEqual(
        (await list(tokens.ward, '?device=ox-own-1')).map((n) => n.patient),
        ['p-own-2'],
      );
      assert.deepEqual(
        await list(tokens.ward, '?device=ox-other-7'),
        [],
        'another ward’s device shows nothing',
      );
      assert.equal(read.rows, 0);
      assert.deepEqual(await list(tokens.ward, '?open=false'), []);
    });

    it('leaves out a patient of the care team whose consent refuses vital signs', async () => {
      const patients = new Set((await list(tokens.ward, '?limit=1000')).map((n) => n.patient));
      assert.ok(!patients.has('p-refuses-vitals'));
    });

    it('reads no notice at all for a clinician who may see no patient, and audits the empty list once', async () => {
      assert.deepEqual(await list(tokens.nobody), []);
      assert.deepEqual([read.tableQueries, read.rows], [0, 0]);
      assert.deepEqual(await audited('token:dr-nobody'), [[null, 'DataQualityNotice']]);
    });

    it('shows a patient under a running break-glass grant, even one whose consent refuses vital signs', async () => {
      assert.deepEqual(await list(tokens.glass), []);
      await access.breakGlass(
        { role: 'clinician', name: 'dr-glass', actor: 'token:dr-glass' },
        'p-refuses-vitals',
        'collapsed in the car park, no care team on site',
      );
      assert.deepEqual(
        (await list(tokens.glass)).map((n) => [n.device, n.patient]),
        [['ox-refuses', 'p-refuses-vitals']],
      );
      assert.equal(read.rows, 1);
    });

    for (const role of ['admin', 'security'] as const) {
      it(`shows the ${role} role every device's notices, without the patient`, async () => {
        const all = await list(tokens[role], '?limit=1000');
        assert.equal(all.length, totalNotices);
        assert.ok(
          all.every((n) => n.patient === null),
          'no patient id reaches a role that reads no patient data',
        );
        assert.deepEqual(
          all.slice(0, 2).map((n) => n.device),
          ['ox-emergency', `ox-other-${OTHER_PATIENTS - 1}`],
        );
        assert.equal((await list(tokens[role], '?limit=3')).length, 3);
        assert.equal(read.rows, 3, 'the limit is taken in the query');
        const actor = role === 'admin' ? 'token:ops' : 'token:soc';
        assert.ok(
          (await audited(actor)).every(([p, resource]) => p === null && resource === 'DataQualityNotice'),
          'the read is audited, naming no patient',
        );
      });
    }
  });
}
