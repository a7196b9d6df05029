/** `vigil patient export` as an operator runs it: a real child process against a running server's data dir. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fhirSchemaErrors } from '../src/fhir/fhir-schema.ts';
import { runVigil } from './support/cli-process.ts';
import { type Harness, startHarness, telemetry } from './support/vigil-harness.ts';

const vigil = (args: string[]) => runVigil(args, { env: { USER: 'export-test' } });

type Bundle = {
  resourceType: string;
  entry: Array<{ resource: { resourceType: string } & Record<string, unknown> }>;
};

describe('vigil patient export', () => {
  let h: Harness;
  const dir = () => ['--data-dir', h.dataDir];
  before(async () => {
    h = await startHarness();
    await h.vigil.patients.add('cli-pat', { name: 'Cecil Exporter', birthDate: '1970-01-31' });
    await h.enrol('cli-ox', 'cli-pat');
    // Quality improvement on de-identified readings, with the patient's consent.
    const consent = await h.api('/api/v1/patients/cli-pat/consents', {
      method: 'POST',
      body: { decision: 'permit', purposes: ['quality'], categories: ['vital-signs', 'device'] },
    });
    assert.equal(consent.status, 201, consent.text);
    const t0 = Date.now() - 3_600_000;
    for (let i = 0; i < 30; i++) {
      await h.vigil.pipeline.accept(
        'cli-ox',
        Buffer.from(
          telemetry(i + 1, [{ code: '8867-4', value: 70 + i, unit: '/min' }], new Date(t0 + i * 60_000)),
        ),
        'http',
      );
    }
  });
  after(() => h.stop());

  it('writes the Bundle to a 0600 file and prints the path last', async () => {
    const out = join(h.dataDir, 'export.json');
    const r = await vigil(['patient', 'export', 'cli-pat', '--out', out, ...dir()]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').pop(), out);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    const bundle = JSON.parse(readFileSync(out, 'utf8')) as Bundle;
    assert.deepEqual(fhirSchemaErrors(bundle), []);
    for (const e of bundle.entry) assert.deepEqual(fhirSchemaErrors(e.resource), []);
    assert.equal(bundle.entry.filter((e) => e.resource.resourceType === 'Observation').length, 30);
    assert.ok(!existsSync(`${out}.partial`));
  });

  it("names the patient's request of an identified patient-request export, audits it and reports it", async () => {
    const out = join(h.dataDir, 'sar.json');
    const unreasoned = await vigil([
      'patient',
      'export',
      'cli-pat',
      '--purpose',
      'patient-request',
      '--out',
      out,
      ...dir(),
    ]);
    assert.notEqual(unreasoned.code, 0);
    assert.match(
      unreasoned.stderr,
      /^vigil: an identified export on the patient's own request needs --reason/,
    );
    assert.ok(!existsSync(out));
    const misplaced = await vigil([
      'patient',
      'export',
      'cli-pat',
      '--reason',
      'subject access request SAR-7 received today',
      ...dir(),
    ]);
    assert.notEqual(misplaced.code, 0);
    assert.match(misplaced.stderr, /--reason names a patient's own request/);
    const reason = 'subject access request SAR-2026-115 received 2026-12-04';
    const r = await vigil([
      'patient',
      'export',
      'cli-pat',
      '--purpose',
      'patient-request',
      '--reason',
      reason,
      '--out',
      out,
      ...dir(),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const audited = await h.vigil.store.db
      .selectFrom('audit_log')
      .select(['purpose', 'outcome'])
      .where('action', '=', 'patient.export')
      .where('patient_id', '=', 'cli-pat')
      .where('outcome', '=', 'success')
      .execute();
    assert.ok(audited.some((e) => e.purpose === `patient-request: ${reason}`));
    const reported = await h.vigil.store.db
      .selectFrom('security_events')
      .select('detail')
      .where('code', '=', 'VIGIL_ERR_EXPORT_PATIENT_REQUEST')
      .execute();
    assert.ok(reported.some((e) => e.detail.includes("patient cli-pat's identified record")));
  });

  it('refuses to replace an existing --out file without --force, and replaces it with --force', async () => {
    const out = join(h.dataDir, 'export-kept.json');
    writeFileSync(out, 'an earlier file\n');
    const refused = await vigil(['patient', 'export', 'cli-pat', '--out', out, ...dir()]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /exists; choose another --out or pass --force/);
    assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
    assert.equal(readFileSync(out, 'utf8'), 'an earlier file\n');
    const forced = await vigil(['patient', 'export', 'cli-pat', '--out', out, '--force', ...dir()]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal((JSON.parse(readFileSync(out, 'utf8')) as Bundle).resourceType, 'Bundle');
  });

  it('writes a de-identified Bundle to stdout, and audits the export', async () => {
    const r = await vigil([
      'patient',
      'export',
      'cli-pat',
      '--deidentified',
      '--purpose',
      'quality',
      ...dir(),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const bundle = JSON.parse(r.stdout) as Bundle;
    assert.deepEqual(fhirSchemaErrors(bundle), []);
    assert.doesNotMatch(r.stdout, /cli-pat|Cecil|Exporter|1970-01|cli-ox/);
    assert.match(r.stderr, /30 observations/);
    const trail = await h.api('/api/v1/audit?patient=cli-pat&action=patient.export', { token: h.adminToken });
    assert.equal(trail.status, 403);
    const rows = await h.vigil.store.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'patient.export')
      .where('patient_id', '=', 'cli-pat')
      .execute();
    assert.ok(
      rows.some((e) => e.actor === 'cli:export-test' && e.purpose === 'quality' && e.outcome === 'success'),
    );
  });

  it('refuses bad input and a purpose the consent does not permit, in one line with a non-zero exit', async () => {
    const folder = join(h.dataDir, 'not-a-file');
    mkdirSync(folder, { recursive: true });
    const cases: Array<[string[], RegExp]> = [
      [['patient', 'export', 'cli-pat', '--purpose', 'marketing'], /purpose=marketing is not one of/],
      [['patient', 'export', 'nobody'], /patient nobody is not registered/],
      [['patient', 'export', '../etc'], /is not valid/],
      [['patient', 'export', 'cli-pat', '--purpose', 'research'], /no consent record permits research/],
      // Refused before the store is opened: nothing is read, nothing to audit.
      [
        ['patient', 'export', 'cli-pat', '--out', '/no/such/dir/x.json'],
        /folder \/no\/such\/dir does not exist; create it first/,
      ],
      // Refused only when the Bundle, read and audited, is to take a folder's place.
      [['patient', 'export', 'cli-pat', '--out', folder, '--force'], /it is a folder; name a file/],
    ];
    for (const [args, why] of cases) {
      const r = await vigil([...args, ...dir()]);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, why);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.equal(r.stdout, '');
    }
    const outcomes = await h.vigil.store.db
      .selectFrom('audit_log')
      .select(['outcome', 'purpose'])
      .where('action', '=', 'patient.export')
      .where('patient_id', '=', 'cli-pat')
      .execute();
    assert.ok(outcomes.some((e) => e.outcome === 'denied' && e.purpose === 'research'));
    assert.ok(
      outcomes.some((e) => e.outcome === 'failure'),
      'the export that could not be written',
    );
  });
});
