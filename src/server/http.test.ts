import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { tempStore } from '../../test/support/temp-store.ts';
import { testHttpServer } from '../../test/support/test-http-server.ts';
import { ApiTokens } from '../access/api-tokens.ts';
import type { App } from './http.ts';

const PATIENT = 'mrn-9001-secret';

/** A driver error as PostgreSQL's arrives: the values it was given sit in an extra field. */
function uniqueViolation(): Error {
  return Object.assign(new Error('duplicate key value violates unique constraint "patients_pkey"'), {
    code: '23505',
    detail: `Key (id)=(${PATIENT}) already exists.`,
  });
}

describe('HTTP server errors in the log', () => {
  let app: App;
  const lines: string[] = [];
  let cleanup: () => Promise<void>;

  before(async () => {
    const temp = await tempStore();
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    ({ app } = await testHttpServer(new ApiTokens(temp.store.db), { log }));
    app.post('/api/v1/things/:id', { config: { access: { public: true } } }, async () => {
      throw uniqueViolation();
    });
    await app.ready();
    cleanup = async () => {
      await app.close();
      await temp.cleanup();
    };
  });
  after(() => cleanup());

  it('logs a server error with its message, stack and code but no field that carries request data', async () => {
    const res = await app.inject({ method: 'POST', url: `/api/v1/things/${PATIENT}` });
    assert.equal(res.statusCode, 500);
    const failed = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'request failed');
    const err = failed?.err as { message?: string; stack?: string; code?: string } | undefined;
    assert.match(String(err?.message), /duplicate key value violates unique constraint "patients_pkey"/);
    assert.match(String(err?.stack), /http\.test\.ts/);
    assert.equal(err?.code, '23505');
    assert.equal(failed?.route, '/api/v1/things/:id');
    assert.deepEqual(
      lines.filter((l) => l.includes(PATIENT)),
      [],
    );
  });
});
