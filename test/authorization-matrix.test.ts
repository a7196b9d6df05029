/**
 * Issue 4's authorization matrix, built from the route table: every route that reads one
 * patient's data, for every role, for a patient on the caller's care team and one who is not,
 * with and without a consent that denies. A new patient route without a rule here fails the
 * suite, so no read path ships without the care-team and consent check.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiTokens } from '../src/access/api-tokens.ts';
import { hidesRefusals, mayKnowEveryPatient } from '../src/access/patient-existence.ts';
import { can, type Permission, ROLES, type Role } from '../src/access/roles.ts';
import type { RouteRecord } from '../src/server/http.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

/** Routes with a patient in the path that are not reads of that patient's data, and why. */
const NOT_GATED: Record<string, string> = {
  'PUT /api/v1/devices/:id/patient': 'device administration; the id is the device',
  'PUT /fhir/R4/Patient/:id': 'FHIR update under patients:write; it echoes what its writer sent',
  'GET /api/v1/patients/:id/alert-rules': 'thresholds, not patient data',
  'PUT /api/v1/patients/:id/alert-rules': 'admin-only rule tuning',
  'DELETE /api/v1/patients/:id/alert-rules': 'admin-only rule tuning',
  'POST /api/v1/patients/:id/consents': 'admin-only consent recording',
  'POST /api/v1/patients/:id/consents/:consentId/revoke': 'admin-only consent recording',
  'GET /api/v1/patients/:id/break-glass': "the caller's own grant, no patient data",
  'POST /api/v1/patients/:id/break-glass': 'the emergency way in itself (test/patient-access.test.ts)',
  'PUT /api/v1/care-teams/:id/patients/:patientId': 'care-team administration',
  'DELETE /api/v1/care-teams/:id/patients/:patientId': 'care-team administration',
  'POST /api/v1/patients/:id/erase': 'admin-only erasure (test/erasure.test.ts)',
  'GET /patients/:id': "the dashboard's app shell, no data",
};

/** Reads that name the patient in the query rather than the path. */
const QUERY_READS: Array<{ method: string; url: string; path: (p: string) => string }> = [
  { method: 'GET', url: '/fhir/R4/Observation', path: (p) => `/fhir/R4/Observation?patient=${p}` },
  { method: 'GET', url: '/fhir/R4/Consent', path: (p) => `/fhir/R4/Consent?patient=${p}` },
];

/**
 * Reads of consent records: no consent decides who reads them (a clinician must see the one
 * that keeps them out), a care-team link does; whoever may know every patient reads them all.
 */
const CONSENT_READS = new Set(['/api/v1/patients/:id/consents', '/fhir/R4/Consent?patient=']);

const PATIENTS = {
  'mx-own-permit': { own: true, permit: true },
  'mx-own-deny': { own: true, permit: false },
  'mx-foreign-permit': { own: false, permit: true },
  'mx-foreign-deny': { own: false, permit: false },
} as const;

/** The rule under test: role permission first, then care team (clinicians) and consent. */
function mayRead(url: string, role: Role, permission: Permission, own: boolean, permit: boolean): boolean {
  if (!can(role, permission)) return false;
  if (CONSENT_READS.has(url)) return role === 'clinician' ? own : mayKnowEveryPatient(role);
  if (role === 'clinician') return own && permit;
  if (role === 'integration') return permit;
  return false;
}

const mentionsPatient = (r: RouteRecord) => /\/patients?\/:|\/Patient\/:|:patientId/.test(r.url);

describe('authorization matrix: route × role × care team × consent', () => {
  let h: Harness;
  const tokens = new Map<Role, string>();
  const tokenOf = (role: Role) => {
    const token = tokens.get(role);
    if (!token) throw new Error(`no token for ${role}`);
    return token;
  };

  before(async () => {
    h = await startHarness();
    for (const [id, p] of Object.entries(PATIENTS)) {
      await h.vigil.patients.add(id, { name: `Matrix ${id}` });
      if (p.own) await h.care(id);
      if (!p.permit) {
        const deny = await h.api(`/api/v1/patients/${id}/consents`, {
          method: 'POST',
          body: { decision: 'deny', purposes: ['*'], categories: ['*'] },
        });
        assert.equal(deny.status, 201, deny.text);
      }
    }
    const api = new ApiTokens(h.vigil.store.db);
    for (const role of ROLES) {
      if (role === 'clinician') tokens.set(role, h.clinicianToken);
      else tokens.set(role, (await api.create({ role, name: `matrix-${role}`, ttlSeconds: 600 })).token);
    }
  });
  after(async () => {
    await h.stop();
  });

  it('knows every route that names a patient: gated read or listed with a reason', () => {
    const unknown = h.vigil.routes.filter(
      (r) => mentionsPatient(r) && r.method !== 'GET' && !(`${r.method} ${r.url}` in NOT_GATED),
    );
    assert.deepEqual(
      unknown.map((r) => `${r.method} ${r.url}`),
      [],
      'a route that changes patient data needs a rule: add it to NOT_GATED with the reason it is not a read',
    );
  });

  it('answers each role exactly as the permission, care-team and consent rules say', async () => {
    const reads = h.vigil.routes
      .filter((r) => r.method === 'GET' && mentionsPatient(r) && !(`GET ${r.url}` in NOT_GATED))
      .map((r) => {
        if (!('permission' in r.access)) assert.fail(`GET ${r.url} reads patient data without a permission`);
        return { url: r.url, permission: r.access.permission, path: (p: string) => r.url.replace(':id', p) };
      });
    assert.ok(reads.length >= 4, `patient reads found: ${reads.map((r) => r.url).join(', ')}`);
    for (const q of QUERY_READS) {
      const route = h.vigil.routes.find((r) => r.method === q.method && r.url === q.url);
      assert.ok(route && 'permission' in route.access, `${q.method} ${q.url} is not in the route table`);
      reads.push({ url: `${q.url}?patient=`, permission: route.access.permission, path: q.path });
    }

    const wrong: string[] = [];
    let checked = 0;
    for (const read of reads) {
      for (const role of ROLES) {
        for (const [patient, p] of Object.entries(PATIENTS)) {
          const r = await h.api(read.path(patient), { token: tokenOf(role) });
          const expected = mayRead(read.url, role, read.permission, p.own, p.permit);
          // A role that may read but is refused altogether by a patient's consent (these deny
          // every purpose and category), where it is told the patient is unknown rather than
          // refused (patient-existence.ts), gets 404.
          const refusal = can(role, read.permission) && hidesRefusals(role) ? 404 : 403;
          const allowed = r.status >= 200 && r.status < 300;
          checked++;
          if (allowed !== expected || (!allowed && r.status !== refusal)) {
            wrong.push(
              `${role} GET ${read.path(patient)}: ${r.status}, expected ${expected ? '2xx' : refusal}`,
            );
          }
        }
      }
    }
    assert.deepEqual(wrong, []);
    assert.equal(checked, reads.length * ROLES.length * Object.keys(PATIENTS).length);
  });

  it('audits every refusal on a gated read with the patient and the outcome', async () => {
    const r = await h.api('/api/v1/patients/mx-foreign-permit/observations', { token: h.clinicianToken });
    assert.equal(r.status, 403);
    const audit = await h.api('/api/v1/audit?patient=mx-foreign-permit&limit=50', {
      token: tokenOf('auditor'),
    });
    assert.equal(audit.status, 200, audit.text);
    const entries = (audit.json as { entries: Array<{ actor: string; outcome: string }> }).entries;
    assert.ok(
      entries.some((e) => e.actor === 'token:test-clinician' && e.outcome !== 'success'),
      `no refusal audited: ${JSON.stringify(entries).slice(0, 400)}`,
    );
  });
});
