/**
 * Answers under /api/ and /fhir/ must not stay in a browser's disk cache: a clinician who opens
 * an API or FHIR link in a tab sends the session cookie, and the answer (patient data) would
 * outlive the sign-out. Built from the route table, so a new GET route is covered without
 * being listed here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Harness, startHarness } from './support/vigil-harness.ts';

const PATIENT = 'cc-patient-1';
const DEVICE = 'cc-device-1';

/** Routes that set their own caching on purpose, with the header they keep. */
const CACHED_ON_PURPOSE: Record<string, RegExp> = {
  '/api/v1/pki/crl': /^public, max-age=300$/,
};

/** The path a route pattern is called at: its ids are the test patient's and device's. */
function pathOf(url: string): string {
  if (url.includes('*')) return '';
  const id = /\/(devices|Device)\/:id/.test(url) ? DEVICE : PATIENT;
  return url.replace(/:[A-Za-z]+/g, id);
}

describe('cache-control of API and FHIR answers', () => {
  let h: Harness;

  before(async () => {
    h = await startHarness();
    await h.enrol(DEVICE, PATIENT);
  });
  after(() => h.stop());

  it('marks every GET answer under /api/ and /fhir/ no-store, except those that cache on purpose', async () => {
    const answered = new Set<string>();
    const routes = h.vigil.routes.filter(
      (r) => r.method === 'GET' && (r.url.startsWith('/api/') || r.url.startsWith('/fhir/')),
    );
    for (const route of routes) {
      const path = pathOf(route.url);
      if (path === '') continue;
      for (const token of [h.adminToken, h.clinicianToken]) {
        const r = await h.api(path, { token });
        if (r.status !== 200) continue;
        answered.add(route.url);
        const expected = CACHED_ON_PURPOSE[route.url] ?? /^no-store$/;
        assert.match(String(r.headers['cache-control']), expected, `GET ${path} (${r.status})`);
      }
    }
    // The test is only as good as what it reached: the reads the finding named, and FHIR.
    for (const url of [
      '/api/v1/patients',
      '/api/v1/patients/:id/observations',
      '/api/v1/alerts',
      '/api/v1/devices',
      '/api/v1/devices/:id',
      '/fhir/R4/Patient',
      '/fhir/R4/Patient/:id',
      '/fhir/R4/Device',
      '/api/v1/pki/crl',
    ])
      assert.ok(answered.has(url), `GET ${url} answered 200 for neither token`);
  });

  it('marks refusals under /api/ and /fhir/ no-store too (their detail may name a patient)', async () => {
    for (const path of ['/api/v1/patients/nobody-here', '/fhir/R4/Patient/nobody-here', '/api/v1/nothing']) {
      const r = await h.api(path, { token: h.clinicianToken });
      assert.ok(r.status >= 400, path);
      assert.equal(r.headers['cache-control'], 'no-store', path);
    }
  });

  it('leaves the app shell and its assets to their own caching', async () => {
    const r = await h.api('/patients');
    assert.notEqual(r.headers['cache-control'], 'no-store');
  });
});
