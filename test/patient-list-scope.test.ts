/**
 * GET /api/v1/patients and the FHIR Patient search ask the database only for the patients the
 * caller may see (PatientGate.readablePatients, filtered in SQL), instead of reading every
 * patient and asking the gate about each one. The answers are those the per-patient check gave
 * (readable() over every registered patient): the same ids, order, pages, cursors and totals, for
 * a clinician, one under break-glass, an integration and an administrator. Run over the real
 * stores, on SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ApiTokens } from '../src/access/api-tokens.ts';
import { PatientAccess, type Requester } from '../src/access/patient-access.ts';
import { createPatientGate } from '../src/access/patient-gate.ts';
import { AuditLog } from '../src/audit/audit-log.ts';
import { CareTeamStore } from '../src/clinical/care-teams.store.ts';
import { PatientStore } from '../src/clinical/patients.store.ts';
import { registerPatientList } from '../src/clinical/routes.ts';
import { KeyRing } from '../src/crypto/key-ring.ts';
import { FHIR_PREFIX } from '../src/fhir/fhir-context.ts';
import { registerPatientResource } from '../src/fhir/patient-routes.ts';
import type { App } from '../src/server/http.ts';
import type { Store } from '../src/store/database.ts';
import { BACKENDS } from './support/backends.ts';
import { RowsRead } from './support/rows-read.ts';
import { testHttpServer } from './support/test-http-server.ts';

const T0 = Date.now();
const OWN = ['p-own-1', 'p-own-2', 'p-own-3'];
const OTHERS = Array.from({ length: 40 }, (_, i) => `p-other-${String(i).padStart(2, '0')}`);

type Who = 'ward' | 'glass' | 'feed' | 'admin';
const REQUESTERS: Record<Who, Requester> = {
  ward: { role: 'clinician', name: 'dr-ward', actor: 'token:dr-ward' },
  glass: { role: 'clinician', name: 'dr-glass', actor: 'token:dr-glass' },
  feed: { role: 'integration', name: 'lab-feed', actor: 'token:lab-feed' },
  admin: { role: 'admin', name: 'ops', actor: 'token:ops' },
};

interface SearchPage {
  ids: string[];
  total: number;
  next: string | undefined;
}

for (const backend of BACKENDS) {
  describe(`patient lists scoped in SQL on ${backend.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let app: App;
    /** The patients the route reads: every query and every patients row it is handed is counted. */
    let patients: PatientStore;
    /** The reference: the registered patients, each checked by readable() as the routes did. */
    let reference: PatientStore;
    let access: PatientAccess;
    let audit: AuditLog;
    const patientReads = new RowsRead('patients');
    const accessReads = new RowsRead('patients');
    const tokens = {} as Record<Who, string>;

    before(async () => {
      ({ store, cleanup } = await backend.open());
      const keys = new KeyRing(store.db, { id: 'mk-test', key: randomBytes(32) });
      reference = new PatientStore(store.db, keys);
      patients = new PatientStore(store.db.withPlugin(patientReads), keys);
      const careTeams = new CareTeamStore(store.db);
      audit = new AuditLog(store.db);
      access = new PatientAccess(store.db);
      const ensurePatientKey = async (id: string) => {
        await keys.dataKey('patient', id);
      };
      const refusal = (categories: Array<'vital-signs' | 'alerts'>) => ({
        decision: 'deny' as const,
        purposes: ['treatment' as const],
        categories,
        periodStart: T0 - 60_000,
        periodEnd: null,
      });
      for (const id of [...OTHERS, ...OWN, 'p-own-refuses', 'p-own-erased', 'p-own-no-alerts', 'p-glass'])
        await reference.add(id, { name: `Name of ${id}` });
      await careTeams.create('ward', 'Ward 7');
      await careTeams.setMembers('ward', ['dr-ward']);
      for (const id of [...OWN, 'p-own-refuses', 'p-own-erased', 'p-own-no-alerts'])
        await careTeams.addPatient('ward', id);
      // Refusing vital signs hides a patient from the lists; refusing alerts only does not.
      await access.recordConsent('p-own-refuses', refusal(['vital-signs']), 'admin');
      await access.recordConsent('p-own-no-alerts', refusal(['alerts']), 'admin');
      await access.recordConsent('p-other-07', refusal(['vital-signs']), 'admin');
      await reference.erase('p-own-erased');
      await access.breakGlass(REQUESTERS.glass, 'p-glass', 'found unresponsive, care team not reachable');

      const api = new ApiTokens(store.db);
      for (const [who, r] of Object.entries(REQUESTERS) as Array<[Who, Requester]>)
        tokens[who] = (await api.create({ role: r.role, name: r.name, ttlSeconds: 600 })).token;

      ({ app } = await testHttpServer(api));
      const gate = createPatientGate(
        new PatientAccess(store.db.withPlugin(accessReads)),
        audit,
        ensurePatientKey,
      );
      registerPatientList(app, { patients, audit, gate });
      await app.register(
        async (fhir) =>
          registerPatientResource(fhir as unknown as App, { patients, audit, gate, db: store.db, keys }),
        { prefix: FHIR_PREFIX },
      );
      await app.ready();
    });
    after(async () => {
      await app.close();
      await cleanup();
    });

    const get = async (who: Who, url: string) => {
      patientReads.reset();
      accessReads.reset();
      const r = await app.inject({ url, headers: { authorization: `Bearer ${tokens[who]}` } });
      assert.equal(r.statusCode, 200, r.body);
      return r.json() as unknown;
    };
    const list = async (who: Who) =>
      ((await get(who, '/api/v1/patients')) as { patients: Array<{ id: string }> }).patients.map((p) => p.id);
    const search = async (who: Who, query: string): Promise<SearchPage> => {
      const bundle = (await get(who, `${FHIR_PREFIX}/Patient?${query}`)) as {
        total: number;
        entry?: Array<{ resource: { id: string } }>;
        link: Array<{ relation: string; url: string }>;
      };
      const next = bundle.link.find((l) => l.relation === 'next')?.url;
      return {
        ids: (bundle.entry ?? []).map((e) => e.resource.id),
        total: bundle.total,
        next: next === undefined ? undefined : (new URL(next).searchParams.get('_cursor') ?? ''),
      };
    };

    /** GET /api/v1/patients as it answered before: every id, each asked of readable(). */
    const listedBefore = async (who: Who) => {
      const all = await reference.listIds();
      if (REQUESTERS[who].role === 'admin') return all;
      const readable = await access.readable(REQUESTERS[who], all);
      return all.filter((id) => readable.has(id));
    };
    /** The FHIR Patient search page as it answered before. */
    const searchedBefore = async (
      who: Who,
      q: { ids?: string[]; count: number; after?: string },
    ): Promise<SearchPage> => {
      const candidates = (await reference.listIds()).filter((id) => !q.ids || q.ids.includes(id));
      // A Patient resource is identity data: the search is judged under that category.
      const readable = await access.readable(REQUESTERS[who], candidates, 'identity');
      const matching = candidates.filter((id) => readable.has(id));
      const rest = q.after === undefined ? matching : matching.filter((id) => id > q.after!);
      const page = rest.slice(0, q.count);
      return { ids: page, total: matching.length, next: rest.length > q.count ? page.at(-1) : undefined };
    };

    it("lists a clinician's patients out of many, reading only theirs and asking the gate once", async () => {
      const ids = await list('ward');
      assert.deepEqual(ids, [...OWN, 'p-own-no-alerts']);
      assert.equal(patientReads.rows, ids.length, 'no other patient’s row is read');
      assert.equal(patientReads.queries, 1);
      assert.ok(
        accessReads.queries <= 3,
        `${accessReads.queries} access queries for ${OTHERS.length}+ patients`,
      );
      assert.deepEqual(ids, await listedBefore('ward'));
    });

    it('lists for break-glass, an integration and an administrator exactly as before', async () => {
      for (const who of ['glass', 'feed', 'admin'] as const) {
        const ids = await list(who);
        assert.ok(accessReads.queries <= 3, `${who}: ${accessReads.queries} access queries`);
        assert.deepEqual(ids, await listedBefore(who), who);
      }
      assert.deepEqual(await list('glass'), ['p-glass']);
      assert.ok(
        !(await list('feed')).includes('p-other-07'),
        'a refusal hides the patient from an integration',
      );
      assert.equal((await list('admin')).length, OTHERS.length + OWN.length + 3, 'every unerased id');
    });

    it('pages the list with limit and after, each page reading only its own rows', async () => {
      for (const who of ['ward', 'feed', 'admin'] as const) {
        const walked: string[] = [];
        let after: string | null = null;
        for (let pages = 0; pages < 20; pages++) {
          const query: string = after === null ? '' : `&after=${after}`;
          const page = (await get(who, `/api/v1/patients?limit=7${query}`)) as {
            patients: Array<{ id: string }>;
            next: string | null;
          };
          assert.ok(page.patients.length <= 7);
          assert.ok(patientReads.rows <= 8, `${who}: ${patientReads.rows} patient rows read for a page of 7`);
          walked.push(...page.patients.map((p) => p.id));
          if (page.next === null) break;
          assert.equal(page.next, walked.at(-1));
          after = page.next;
        }
        assert.deepEqual(walked, await listedBefore(who), who);
      }
      assert.equal(((await get('admin', '/api/v1/patients')) as { next: string | null }).next, null);
      for (const query of ['limit=0', 'limit=1001', 'limit=ten', 'after=../x']) {
        const refused = await app.inject({
          url: `/api/v1/patients?${query}`,
          headers: { authorization: `Bearer ${tokens.admin}` },
        });
        assert.equal(refused.statusCode, 400, query);
      }
    });

    it('pages a FHIR Patient search as before, for every kind of caller', async () => {
      const queries: Array<{ ids?: string[]; count: number }> = [
        { count: 2 },
        { count: 7 },
        { count: 100 },
        {
          ids: ['p-own-2', 'p-other-07', 'p-other-08', 'p-glass', 'p-own-erased', 'p-nobody', 'p-own-3'],
          count: 2,
        },
        { ids: ['p-own-refuses'], count: 1 },
      ];
      for (const who of ['ward', 'glass', 'feed', 'admin'] as const) {
        for (const q of queries) {
          const base = `${q.ids ? `_id=${q.ids.join(',')}&` : ''}_count=${q.count}`;
          let after: string | undefined;
          const pages: string[] = [];
          do {
            const page = await search(who, after === undefined ? base : `${base}&_cursor=${after}`);
            assert.deepEqual(
              page,
              await searchedBefore(who, { ...q, ...(after ? { after } : {}) }),
              `${who} ${base}`,
            );
            pages.push(...page.ids);
            after = page.next;
          } while (after !== undefined);
          assert.equal(new Set(pages).size, pages.length, 'each patient on one page only');
        }
      }
      // A cursor between ids, as a client may send one: the page starts after it all the same.
      // (p-other-07 refuses vital signs only: its Patient resource is still found.)
      assert.deepEqual(await search('feed', '_count=3&_cursor=p-other-05a'), {
        ids: ['p-other-06', 'p-other-07', 'p-other-08'],
        total: OTHERS.length + OWN.length + 3,
        next: 'p-other-08',
      });
      assert.deepEqual((await search('admin', '_count=3')).ids, [], 'an administrator reads no patient');
      // A patient refusing identity (and nothing else) is not found, rather than failing the
      // search with a 403 when its resource is read; their vital signs still list them.
      assert.deepEqual((await search('ward', '_id=p-own-no-alerts')).ids, ['p-own-no-alerts']);
      await access.recordConsent(
        'p-own-no-alerts',
        {
          decision: 'deny',
          purposes: ['treatment'],
          categories: ['identity'],
          periodStart: T0 - 60_000,
          periodEnd: null,
        },
        'admin',
      );
      assert.deepEqual(await search('ward', '_id=p-own-no-alerts,p-own-1'), {
        ids: ['p-own-1'],
        total: 1,
        next: undefined,
      });
      assert.deepEqual(await list('ward'), [...OWN, 'p-own-no-alerts']);
    });

    it('names the patients whose consent lets the caller see identity, with include=identity', async () => {
      type Listed = { patients: Array<{ id: string; name?: string }> };
      const named = async (who: Who) =>
        ((await get(who, '/api/v1/patients?include=identity')) as Listed).patients.map((p) =>
          p.name === undefined ? p.id : `${p.id}: ${p.name}`,
        );
      // p-own-no-alerts refuses identity (recorded above): listed by its pseudonym only.
      assert.deepEqual(await named('ward'), [...OWN.map((id) => `${id}: Name of ${id}`), 'p-own-no-alerts']);
      assert.deepEqual(await named('glass'), ['p-glass: Name of p-glass']);
      const admin = await named('admin');
      assert.equal(admin.length, OTHERS.length + OWN.length + 3);
      assert.ok(
        admin.every((entry) => !entry.includes(':')),
        'an administrator manages pseudonyms, reads no name',
      );
      const reads = await audit.search({ limit: 100, actor: 'token:dr-ward', action: 'patient.read' });
      assert.deepEqual(
        reads
          .filter((r) => r.purpose === 'identity in the patient list')
          .map((r) => r.patient_id)
          .sort(),
        [...OWN],
        'each name disclosed is audited as a read of that patient',
      );
      const refused = await app.inject({
        url: '/api/v1/patients?include=everything',
        headers: { authorization: `Bearer ${tokens.ward}` },
      });
      assert.equal(refused.statusCode, 400);
    });

    it('says on what basis each patient is listed, and until when a break-glass one', async () => {
      type Listed = { patients: Array<{ id: string; access: string; accessExpires?: string }> };
      const bases = async (who: Who, query = '') => {
        const listed = (await get(who, `/api/v1/patients${query}`)) as Listed;
        return new Map(listed.patients.map((p) => [p.id, p]));
      };
      const ward = await bases('ward');
      assert.deepEqual(ward.get('p-own-1'), { id: 'p-own-1', access: 'care-team' });
      assert.ok([...ward.values()].every((p) => p.access === 'care-team' && !('accessExpires' in p)));
      const grant = await access.breakGlassExpiry(REQUESTERS.glass.actor, 'p-glass', Date.now());
      assert.ok(grant !== undefined);
      const expected = { id: 'p-glass', access: 'break-glass', accessExpires: new Date(grant).toISOString() };
      assert.deepEqual(Object.fromEntries(await bases('glass')), { 'p-glass': expected });
      // With names too: the same basis beside the name.
      const named = (await bases('glass', '?include=identity')).get('p-glass');
      assert.deepEqual(named, { ...expected, name: 'Name of p-glass' });
      assert.ok([...(await bases('feed')).values()].every((p) => p.access === 'integration'));
      const admin = await bases('admin');
      assert.equal(admin.get('p-glass')?.access, 'administration', 'no one else sees the grant');
      assert.ok([...admin.values()].every((p) => p.access === 'administration' && !p.accessExpires));
    });

    it('marks a patient break-glass only while the grant runs, with the latest end of several', async () => {
      const who: Requester = { role: 'clinician', name: 'dr-ward', actor: 'token:dr-ward' };
      const start = Date.now();
      // An ended grant on a foreign patient, and two on a care-team patient (the later end counts).
      await access.breakGlass(
        who,
        'p-other-00',
        'found unresponsive, care team not reachable',
        start - 2 * 3_600_000,
      );
      await access.breakGlass(
        who,
        'p-own-2',
        'found unresponsive, care team not reachable',
        start - 30 * 60_000,
      );
      await access.breakGlass(
        who,
        'p-own-2',
        'found unresponsive, care team not reachable',
        start - 10 * 60_000,
      );
      type Listed = { patients: Array<{ id: string; access: string; accessExpires?: string }> };
      const listed = ((await get('ward', '/api/v1/patients')) as Listed).patients;
      assert.equal(
        listed.find((p) => p.id === 'p-other-00'),
        undefined,
        'an ended grant opens nothing',
      );
      // While a grant of the caller's runs, the gate reads the patient as break-glass (access-facts.ts).
      assert.deepEqual(
        listed.find((p) => p.id === 'p-own-2'),
        {
          id: 'p-own-2',
          access: 'break-glass',
          accessExpires: new Date(start - 10 * 60_000 + 60 * 60_000).toISOString(),
        },
      );
      await store.db.deleteFrom('break_glass').where('actor', '=', who.actor).execute();
    });

    it('reads a page of patients, not every patient, for an integration that may see nearly all', async () => {
      const page = await search('feed', '_count=2');
      assert.equal(page.ids.length, 2);
      // One count, the page and the one after it, then each shown patient's own row (get); the
      // gate's facts, read through the access store, tell it whether the patient exists.
      assert.equal(patientReads.rows, 1 + 3 + 2);
      assert.ok(accessReads.queries <= 2 + 2, `${accessReads.queries} access queries`);
    });
  });
}
