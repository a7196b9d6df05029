/**
 * FHIR Observation read: an Observation id holds only a hash of its patient's id
 * (observation-id.ts), so the route finds the patient by hashing candidates. It looks among the
 * patients the caller may read first, and reads every registered patient only for an id outside
 * that scope, and then only once until a patient is registered or erased, rather than on every
 * read of an id it has not seen. The answers: the resource the search gave, 403 with a denied
 * audit entry for a patient the caller may not read, 410 for an erased one, and for an id that
 * names no patient 404 to a caller who may know every patient, else the 403 of a patient outside
 * the care team (the id's patient hash is unkeyed: a 404 would let a clinician probe guessed
 * ids). Over HTTPS on a real Vigil, on SQLite, where readings live.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type BetterSqlite3 from 'better-sqlite3';
import { ApiTokens } from '../src/access/api-tokens.ts';
import { type Harness, startHarness, telemetry } from './support/vigil-harness.ts';

const OTHERS = Array.from({ length: 40 }, (_, i) => `rd-other-${String(i).padStart(2, '0')}`);
const MINUTE = 60_000;

interface Observation {
  resourceType: 'Observation';
  id: string;
  subject: { reference: string };
}

/**
 * Rows SQLite hands back to statements that select from the patients table, counted where
 * Kysely prepares each statement: what a request reads of that table, whichever query reads it.
 */
function countPatientRows(db: BetterSqlite3.Database): { rows: number } {
  const counter = { rows: 0 };
  const prepare = db.prepare.bind(db);
  db.prepare = ((source: string) => {
    const statement = prepare(source);
    if (!statement.reader || !/\bfrom "patients"/i.test(source)) return statement;
    const all = statement.all.bind(statement);
    statement.all = ((...params: unknown[]) => {
      const rows = all(...params);
      counter.rows += rows.length;
      return rows;
    }) as typeof statement.all;
    return statement;
  }) as typeof db.prepare;
  return counter;
}

describe('FHIR Observation read by id', () => {
  let h: Harness;
  let integrationToken: string;
  let patientRows: { rows: number };
  const start = Math.floor((Date.now() - 2 * 3_600_000) / 3_600_000) * 3_600_000;

  const read = async (id: string, token = h.clinicianToken) => {
    patientRows.rows = 0;
    return h.api(`/fhir/R4/Observation/${id}`, { token });
  };
  const search = async (patientId: string, token = h.clinicianToken) => {
    const r = await h.api(`/fhir/R4/Observation?patient=${patientId}&_count=5`, { token });
    assert.equal(r.status, 200, r.text);
    return ((r.json as { entry?: Array<{ resource: Observation }> }).entry ?? []).map((e) => e.resource);
  };
  const ingest = async (deviceId: string, count: number) => {
    for (let m = 0; m < count; m++) {
      const ts = new Date(start + m * MINUTE);
      const readings = [{ code: '8867-4', value: 70 + m, unit: '/min', ts: ts.toISOString() }];
      await h.vigil.pipeline.accept(deviceId, Buffer.from(telemetry(m + 1, readings, ts)), 'http');
    }
  };

  before(async () => {
    h = await startHarness();
    // Patients off the test clinician's care team, registered before enrol would add them to it.
    for (const id of OTHERS) await h.vigil.patients.add(id, { name: `Name of ${id}` });
    await h.vigil.patients.add('rd-erased', { name: 'Erased' });
    await h.enrol('rd-own-ox', 'rd-own', start - 3_600_000);
    await h.enrol('rd-other-ox', 'rd-other-00', start - 3_600_000);
    await h.enrol('rd-erased-ox', 'rd-erased', start - 3_600_000);
    await h.care('rd-erased');
    for (const device of ['rd-own-ox', 'rd-other-ox', 'rd-erased-ox']) await ingest(device, 3);
    integrationToken = (
      await new ApiTokens(h.vigil.store.db).create({ role: 'integration', name: 'rd-feed', ttlSeconds: 600 })
    ).token;
    patientRows = countPatientRows(h.vigil.store.sqlite!);
  });
  after(() => h.stop());

  it("reads the caller's own patient's Observation without reading the other patients", async () => {
    const [found] = await search('rd-own');
    const r = await read(found!.id);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, found);
    assert.ok(patientRows.rows <= 3, `${patientRows.rows} patient rows read for one of ${OTHERS.length + 2}`);
  });

  it('answers a patient the caller may not read with 403 and a denied audit entry, as before', async () => {
    const [theirs] = await search('rd-other-00', integrationToken);
    const r = await read(theirs!.id);
    assert.equal(r.status, 403, r.text);
    // The refusal names the Observation, not the patient its hash stands for.
    assert.ok(!r.text.includes('rd-other-00'), r.text);
    const denied = await h.vigil.store.db
      .selectFrom('audit_log')
      .select(['actor', 'outcome'])
      .where('patient_id', '=', 'rd-other-00')
      .where('action', '=', 'patient.access')
      .execute();
    assert.deepEqual(denied, [{ actor: 'token:test-clinician', outcome: 'denied' }]);
  });

  it('lets an integration read any patient it may read by Observation id, as before', async () => {
    for (const patientId of ['rd-own', 'rd-other-00']) {
      const [found] = await search(patientId, integrationToken);
      const r = await read(found!.id, integrationToken);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, found);
    }
  });

  it('answers an id naming no patient with 404, reading the patients again only once they change', async () => {
    const nobody = '00000000ff.000000.8867-4.abc.0';
    assert.equal((await read(nobody, integrationToken)).status, 404);
    for (let i = 0; i < 3; i++) {
      assert.equal((await read(nobody)).status, 403);
      assert.ok(patientRows.rows <= 1, `an unknown id read ${patientRows.rows} patient rows`);
      assert.equal((await read(nobody, integrationToken)).status, 404);
      assert.ok(patientRows.rows <= 1, `an unknown id read ${patientRows.rows} patient rows`);
    }
    await h.vigil.patients.add('rd-late', { name: 'Registered late' });
    assert.equal((await read(nobody, integrationToken)).status, 404);
    assert.equal((await read(nobody, integrationToken)).status, 404);
    assert.ok(patientRows.rows <= 1, `an unknown id read ${patientRows.rows} patient rows`);
  });

  it("refuses a clinician an id naming no patient exactly as a foreign patient's Observation", async () => {
    const [theirs] = await search('rd-other-00', integrationToken);
    // The same device, code, time and ordinal, under a patient hash that names nobody.
    const nobody = theirs!.id.replace(/^[0-9a-f]{10}/, '00000000fe');
    const answer = async (id: string) => {
      const r = await read(id);
      return { status: r.status, body: r.text.replaceAll(id, '{id}') };
    };
    const foreign = await answer(theirs!.id);
    assert.equal(foreign.status, 403);
    assert.deepEqual(await answer(nobody), foreign);
    const denied = await h.vigil.store.db
      .selectFrom('audit_log')
      .select(['actor', 'action', 'outcome'])
      .where('resource', '=', `Observation/${nobody}`)
      .execute();
    assert.deepEqual(denied, [
      { actor: 'token:test-clinician', action: 'patient.access', outcome: 'denied' },
    ]);
  });

  it("answers an erased patient's Observation 410 Gone, as a search of the patient does", async () => {
    const [gone] = await search('rd-erased');
    assert.equal((await read(gone!.id)).status, 200);
    await h.vigil.patients.erase('rd-erased');
    // Before, 410 while the route's map of every patient was older than the erasure, 404 once
    // an unknown id had it read again: now always the gate's answer for an erased patient.
    for (const token of [h.clinicianToken, integrationToken]) {
      assert.equal((await h.api('/fhir/R4/Observation?patient=rd-erased', { token })).status, 410);
      const r = await read(gone!.id, token);
      assert.equal(r.status, 410, r.text);
      assert.ok(patientRows.rows <= 3, `${patientRows.rows} patient rows read`);
    }
  });
});
