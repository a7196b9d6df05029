/**
 * The operational log is read by people with no right to know who is treated here, so a refused
 * read of a patient logs its error code, status and route pattern, not the refusal's detail,
 * which names the patient. The caller is still told the detail.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { ApiTokens } from '../src/access/api-tokens.ts';
import { loadConfig } from '../src/config/config.ts';
import { initDataDir } from '../src/server/provision.ts';
import { type RunningVigil, startVigil } from '../src/server/vigil.ts';
import { httpsRequest } from './support/https-client.ts';

const PATIENT = 'mrn-4471-secret';

describe('refused patient reads in the log', () => {
  let vigil: RunningVigil;
  let dataDir: string;
  let clinicianToken: string;
  const lines: string[] = [];
  const read = (path: string) =>
    httpsRequest(`https://127.0.0.1:${vigil.httpPort}${path}`, { ca: vigil.caPem, token: clinicianToken });

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-log-ids-'));
    const config = loadConfig({
      env: { VIGIL_DATA_DIR: dataDir, VIGIL_HTTP_PORT: '0', VIGIL_MQTT_PORT: '0', VIGIL_LOG_LEVEL: 'silent' },
    });
    await initDataDir(config);
    vigil = await startVigil(config, {
      log: pino({ level: 'debug' }, { write: (l: string) => void lines.push(l) }),
      pollMs: 100,
    });
    await vigil.patients.add(PATIENT, { name: 'Test Patient' });
    // A clinician on no care team: every read of the patient is refused.
    clinicianToken = (
      await new ApiTokens(vigil.store.db).create({
        role: 'clinician',
        name: 'test-clinician',
        ttlSeconds: 600,
      })
    ).token;
  });
  after(async () => {
    await vigil.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('logs a refused REST read by code, status and route, and tells only the caller whose record it was', async () => {
    const res = await read(`/api/v1/patients/${PATIENT}/observations`);
    assert.equal(res.status, 403);
    assert.match(
      String((res.json as { detail?: string }).detail),
      new RegExp(PATIENT),
      'the caller gets the detail',
    );
    const refusal = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.code === 'VIGIL_ERR_AUTH_FORBIDDEN');
    assert.equal(refusal?.route, '/api/v1/patients/:id/observations');
    assert.equal(refusal?.status, 403);
    assert.deepEqual(
      lines.filter((l) => l.includes(PATIENT)),
      [],
    );
  });

  it('logs a refused FHIR read without the patient id', async () => {
    const res = await read(`/fhir/R4/Patient/${PATIENT}`);
    assert.equal(res.status, 403);
    assert.deepEqual(
      lines.filter((l) => l.includes(PATIENT)),
      [],
    );
  });
});
