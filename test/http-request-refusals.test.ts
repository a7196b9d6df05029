/**
 * Requests refused before a route handler runs (a malformed URL, an over-long path segment, a body
 * of the wrong media type, a loosely written integer) still get a problem document with the
 * security headers, are counted and are logged; credentials are read as RFC 9110 says.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import pino from 'pino';
import { ApiTokens } from '../src/access/api-tokens.ts';
import { createMetrics, type Metrics } from '../src/observability/metrics.ts';
import type { App } from '../src/server/http.ts';
import { registerOpsRoutes } from '../src/server/ops-routes.ts';
import { tempStore } from './support/temp-store.ts';
import { testHttpServer } from './support/test-http-server.ts';

const SECURITY_HEADERS = [
  'content-security-policy',
  'strict-transport-security',
  'x-content-type-options',
  'x-frame-options',
  'referrer-policy',
  'cross-origin-resource-policy',
  'cross-origin-opener-policy',
];

describe('HTTP requests refused before the handler', () => {
  let app: App;
  let metrics: Metrics;
  let adminToken: string;
  const logged: Array<Record<string, unknown>> = [];
  let cleanup: () => Promise<void>;

  before(async () => {
    const temp = await tempStore();
    metrics = createMetrics();
    const tokens = new ApiTokens(temp.store.db);
    adminToken = (await tokens.create({ role: 'admin', name: 'refusals', ttlSeconds: 600 })).token;
    const log = pino(
      { level: 'info' },
      { write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>) },
    );
    ({ app } = await testHttpServer(tokens, { log, metrics }));
    registerOpsRoutes(app, metrics, () => ({ mqtt: true, store: true }));
    app.get(
      '/api/v1/things/:id',
      { config: { access: { public: true } }, schema: { params: Type.Object({ id: Type.String() }) } },
      async () => ({ ok: true }),
    );
    app.post(
      '/api/v1/things',
      { config: { access: { public: true } }, schema: { body: Type.Object({ a: Type.String() }) } },
      async () => ({ ok: true }),
    );
    app.get(
      '/api/v1/counted',
      {
        config: { access: { public: true } },
        schema: {
          querystring: Type.Object(
            {
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
              code: Type.Optional(Type.String()),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => ({ limit: (request.query as { limit?: number }).limit ?? null }),
    );
    await app.ready();
    cleanup = async () => {
      await app.close();
      await temp.cleanup();
    };
  });
  after(() => cleanup());

  const count4xx = async (): Promise<number> => {
    const metric = await metrics.httpRequests.get();
    return metric.values.find((v) => v.labels.status === '4xx')?.value ?? 0;
  };

  for (const [label, url] of [
    ['a malformed percent-encoding', '/%ZZ'],
    ['a bad percent-encoding inside a route', '/api/v1/things/%E0%A4%A'],
    ['a path parameter over 100 characters', `/api/v1/things/${'a'.repeat(150)}`],
  ] as const) {
    it(`answers ${label} with a problem document, the security headers, counted and logged`, async () => {
      const before = await count4xx();
      const loggedBefore = logged.length;
      const r = await app.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 400);
      assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
      const doc = r.json() as { code: string; status: number; type: string; detail: string };
      assert.equal(doc.code, 'VIGIL_ERR_REQUEST_INVALID');
      assert.equal(doc.status, 400);
      assert.equal(doc.type, 'https://vigil.dev/errors/VIGIL_ERR_REQUEST_INVALID');
      const routed = await app.inject({ method: 'GET', url: '/no/such/route' });
      for (const name of SECURITY_HEADERS) {
        assert.ok(r.headers[name], `${name} missing`);
        assert.equal(r.headers[name], routed.headers[name], `${name} differs from a routed answer`);
      }
      assert.equal(await count4xx(), before + 2, 'counted, like the routed 404 after it');
      const line = logged.slice(loggedBefore).find((l) => l.code === 'VIGIL_ERR_REQUEST_INVALID');
      assert.ok(line, 'logged');
      assert.doesNotMatch(JSON.stringify(line), /aaaaaaaaaa|%ZZ|%E0/, 'the URL stays out of the log');
    });
  }

  it('answers a body of an unsupported media type 415 with its own catalogue code', async () => {
    for (const contentType of ['application/xml', 'application/x-www-form-urlencoded']) {
      const r = await app.inject({
        method: 'POST',
        url: '/api/v1/things',
        headers: { 'content-type': contentType },
        payload: '<a/>',
      });
      assert.equal(r.statusCode, 415, contentType);
      assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
      assert.equal((r.json() as { code: string }).code, 'VIGIL_ERR_REQUEST_MEDIA_TYPE');
    }
    const json = await app.inject({ method: 'POST', url: '/api/v1/things', payload: { a: 'x' } });
    assert.equal(json.statusCode, 200);
  });

  it('takes the bearer scheme in any letter case (RFC 9110 §11.1)', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      const r = await app.inject({ url: '/metrics', headers: { authorization: `${scheme} ${adminToken}` } });
      assert.equal(r.statusCode, 200, scheme);
    }
    const wrong = await app.inject({ url: '/metrics', headers: { authorization: `Basic ${adminToken}` } });
    assert.equal(wrong.statusCode, 401);
    const bad = await app.inject({ url: '/metrics', headers: { authorization: 'bearer not-a-token' } });
    assert.equal(bad.statusCode, 401);
  });

  it('refuses integer query parameters not written in decimal digits', async () => {
    for (const value of ['0x10', '0b101', '1e2', '%2010', '10.0', '%2B10', '-5']) {
      const r = await app.inject({ url: `/api/v1/counted?limit=${value}` });
      assert.equal(r.statusCode, 400, value);
      assert.match((r.json() as { detail: string }).detail, /querystring\/limit must be a whole number/);
    }
  });

  it('still takes decimal digits and keeps the schema limits and other parameters', async () => {
    assert.deepEqual((await app.inject({ url: '/api/v1/counted?limit=10&code=0x10' })).json(), { limit: 10 });
    assert.deepEqual((await app.inject({ url: '/api/v1/counted' })).json(), { limit: null });
    const over = await app.inject({ url: '/api/v1/counted?limit=5000' });
    assert.equal(over.statusCode, 400);
    assert.match((over.json() as { detail: string }).detail, /must be <= 1000/);
    assert.equal((await app.inject({ url: '/api/v1/counted?nope=1' })).statusCode, 400);
  });
  it('logs a flood of one refusal a few times and then says how many more, counting them all', async () => {
    // A fresh minute for every code, whatever earlier tests refused and however long they took.
    app.refusalLog.stop();
    const before = await count4xx();
    const loggedBefore = logged.length;
    for (let i = 0; i < 100; i++) {
      const r = await app.inject({
        method: 'POST',
        url: '/api/v1/things',
        headers: { 'content-type': 'application/xml' },
        payload: '<a/>',
      });
      assert.equal(r.statusCode, 415);
    }
    assert.equal(await count4xx(), before + 100, 'every refusal is counted');
    const flood = () => logged.slice(loggedBefore).filter((l) => l.code === 'VIGIL_ERR_REQUEST_MEDIA_TYPE');
    assert.equal(flood().length, 20, 'twenty lines a minute for one code');
    const other = await app.inject({ url: '/api/v1/counted?limit=0x1' });
    assert.equal(other.statusCode, 400);
    assert.ok(
      logged.slice(loggedBefore).some((l) => l.code === 'VIGIL_ERR_REQUEST_INVALID'),
      'another code has its own budget',
    );
    app.refusalLog.stop();
    const summary = logged.slice(loggedBefore).find((l) => l.key === 'VIGIL_ERR_REQUEST_MEDIA_TYPE');
    assert.equal(summary?.suppressed, 80);
    assert.match(String(summary?.msg), /HTTP refusals: 80 more like this not logged/);
  });
});
