/**
 * An identified export on the patient's own request (purpose=patient-request), against a real
 * running Vigil: it needs a reason naming the request, the reason is audited with the purpose,
 * and the security officer is told of each one, as of each break-glass.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiTokens } from '../src/access/api-tokens.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

const REASON = 'subject access request SAR-2026-114 received 2026-12-01';
const EXPORT = '/fhir/R4/Patient/sar-ada/$everything';

describe("an identified export on the patient's own request (end to end)", () => {
  let h: Harness;
  let auditor: string;
  let officer: string;
  const exportAs = (query: string) => h.api(`${EXPORT}?${query}`, { token: auditor });
  const trail = async () => {
    const r = await h.api('/api/v1/audit?patient=sar-ada&action=patient.export', { token: auditor });
    assert.equal(r.status, 200, r.text);
    return (r.json as { entries: Array<{ purpose: string; outcome: string }> }).entries;
  };
  /** Security events are written in batches every 50 ms: what is stored once a batch is surely out. */
  const reported = async () => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const r = await h.api('/api/v1/security/events?code=VIGIL_ERR_EXPORT_PATIENT_REQUEST', {
      token: officer,
    });
    assert.equal(r.status, 200, r.text);
    return (r.json as { events: Array<{ detail: string }> }).events.filter((e) =>
      e.detail.includes('token:privacy-officer exported patient sar-ada'),
    );
  };

  before(async () => {
    h = await startHarness();
    const tokens = new ApiTokens(h.vigil.store.db);
    auditor = (await tokens.create({ role: 'auditor', name: 'privacy-officer', ttlSeconds: 3600 })).token;
    officer = (await tokens.create({ role: 'security', name: 'sec-officer', ttlSeconds: 3600 })).token;
    await h.vigil.patients.add('sar-ada', { name: 'Ada Quartermain', birthDate: '1948-03-11' });
  });
  after(() => h.stop());

  it('refuses it without a reason naming the request, and says what to send', async () => {
    const r = await exportAs('purpose=patient-request');
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, /needs reason= naming that request/);
    const short = await exportAs('purpose=patient-request&reason=SAR-114');
    assert.equal(short.status, 400, short.text);
    assert.match(short.text, /at least 20/);
    assert.equal((await reported()).length, 0);
  });

  it('exports with a reason, audits the reason with the purpose, and tells the security officer', async () => {
    const r = await exportAs(`purpose=patient-request&reason=${encodeURIComponent(REASON)}`);
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /Ada Quartermain|Quartermain/);
    const entries = await trail();
    assert.ok(
      entries.some((e) => e.purpose === `patient-request: ${REASON}` && e.outcome === 'success'),
      JSON.stringify(entries),
    );
    assert.equal((await reported()).length, 1);
  });

  it('leaves a de-identified export as it was: no reason asked, nothing reported', async () => {
    const before = (await reported()).length;
    const r = await exportAs('purpose=patient-request&_deidentify=safe-harbor');
    assert.equal(r.status, 200, r.text);
    assert.doesNotMatch(r.text, /Quartermain/);
    assert.equal((await reported()).length, before);
  });
});
