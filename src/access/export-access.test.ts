import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tempStore } from '../../test/support/temp-store.ts';
import { CareTeamStore } from '../clinical/care-teams.store.ts';
import { PatientStore } from '../clinical/patients.store.ts';
import { VigilError } from '../errors/catalogue.ts';
import { auditedPurpose, checkExport, type ExportRequest, exportReason } from './export-access.ts';
import { PatientAccess, type Requester } from './patient-access.ts';
import type { Role } from './roles.ts';

const who = (role: Role, name = `${role}-1`): Requester => ({ role, name, actor: `token:${name}` });
const req = (purpose: ExportRequest['purpose'], deidentified = false): ExportRequest => ({
  purpose,
  deidentified,
});

const SAR = 'subject access request SAR-2026-114 received 2026-12-01';

describe('who may export a patient', () => {
  let t: Awaited<ReturnType<typeof tempStore>>;
  let access: PatientAccess;
  const allowed = (r: Requester, q: ExportRequest) => checkExport(access, r, 'p-1', q);
  const refused = (r: Requester, q: ExportRequest, why: RegExp) =>
    assert.rejects(
      checkExport(access, r, 'p-1', q),
      (e: unknown) => e instanceof VigilError && e.code === 'VIGIL_ERR_AUTH_FORBIDDEN' && why.test(e.detail),
    );

  before(async () => {
    t = await tempStore();
    await new PatientStore(t.store.db, t.keys).add('p-1', { name: 'Export Patient' });
    const teams = new CareTeamStore(t.store.db);
    await teams.create('ward', 'Ward');
    await teams.setMembers('ward', ['clinician-1']);
    await teams.addPatient('ward', 'p-1');
    access = new PatientAccess(t.store.db);
  });
  after(() => t.cleanup());

  it('lets a care-team clinician export for treatment, identified or not', async () => {
    await allowed(who('clinician'), req('treatment'));
    await allowed(who('clinician'), req('treatment', true));
  });

  it('refuses a clinician off the care team', async () => {
    await refused(who('clinician', 'dr-other'), req('treatment'), /no care-team link/);
  });

  it('refuses research until the patient consents, then allows it', async () => {
    await refused(who('clinician'), req('research'), /research/);
    await refused(who('auditor'), req('research', true), /research/);
    await access.recordConsent(
      'p-1',
      {
        decision: 'permit',
        purposes: ['research'],
        categories: ['vital-signs', 'device'],
        periodStart: 0,
        periodEnd: null,
      },
      'test',
    );
    await allowed(who('auditor'), req('research', true));
    // The identity was not consented for research: only the de-identified form goes.
    await refused(who('clinician'), req('research'), /no consent record permits research/);
    await allowed(who('clinician'), req('research', true));
  });

  it("gives the auditor identified data only on the patient's own request, whatever the consent says", async () => {
    await refused(who('auditor'), req('treatment'), /patient-request/);
    await access.recordConsent(
      'p-1',
      { decision: 'deny', purposes: ['*'], categories: ['*'], periodStart: 0, periodEnd: null },
      'test',
    );
    await allowed(who('auditor'), { ...req('patient-request'), reason: SAR });
    await refused(who('clinician'), req('treatment'), /denies/);
    await refused(who('clinician'), req('patient-request'), /privacy officer/);
  });

  it("asks the privacy officer for the patient's request before an identified export, not a de-identified one", async () => {
    await assert.rejects(
      checkExport(access, who('auditor'), 'p-1', req('patient-request')),
      (e: unknown) =>
        e instanceof VigilError &&
        e.code === 'VIGIL_ERR_REQUEST_INVALID' &&
        /needs reason= naming that request/.test(e.detail),
    );
    await allowed(who('auditor'), { ...req('patient-request'), reason: SAR });
    await allowed(who('auditor'), req('patient-request', true));
  });

  it('checks a reason as a break-glass reason is checked', () => {
    assert.equal(exportReason(`  ${SAR} `), SAR);
    for (const bad of ['SAR-1', ' '.repeat(40), `${SAR}\nforged line`, `${SAR}\u202e`, 'x'.repeat(501)])
      assert.throws(
        () => exportReason(bad),
        (e: unknown) => e instanceof VigilError && e.code === 'VIGIL_ERR_REQUEST_INVALID',
      );
  });

  it('records the reason with the purpose in the audit entry', () => {
    assert.equal(auditedPurpose({ ...req('patient-request'), reason: SAR }), `patient-request: ${SAR}`);
    assert.equal(auditedPurpose(req('research', true)), 'research');
  });

  it('refuses every other role', async () => {
    for (const role of ['admin', 'security', 'patient', 'integration'] as const)
      await refused(who(role), req('patient-request'), /exports no patient data/);
  });
});
