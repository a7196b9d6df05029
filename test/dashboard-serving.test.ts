import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ApiTokens } from '../src/access/api-tokens.ts';
import type { App } from '../src/server/http.ts';
import { registerOpsRoutes } from '../src/server/ops-routes.ts';
import { DASHBOARD_CSP, DASHBOARD_PATHS, registerWebRoutes } from '../src/server/web-routes.ts';
import { matchRoute, ROUTE_PATHS } from '../web/src/lib/routes.ts';
import { tempStore } from './support/temp-store.ts';
import { testHttpServer } from './support/test-http-server.ts';

const INDEX =
  '<!doctype html><div id="root"></div><script type="module" src="/assets/index-abc.js"></script>';
const SCRIPT = 'console.log("dashboard");'.repeat(50);

/** A small web/dist stand-in, so these tests need no Vite build. */
function fakeDist(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-dist-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'assets', 'index-abc.js'), SCRIPT);
  writeFileSync(join(dir, 'assets', 'index-abc.js.gz'), gzipSync(SCRIPT));
  writeFileSync(join(dir, '.env'), 'SECRET=1');
  return dir;
}

async function server(distDir: string): Promise<{ app: App; close(): Promise<void> }> {
  const temp = await tempStore();
  const { app, metrics } = await testHttpServer(new ApiTokens(temp.store.db));
  registerOpsRoutes(app, metrics, () => ({ mqtt: true, store: true }));
  await registerWebRoutes(app, { distDir });
  await app.ready();
  return {
    app,
    close: async () => {
      await app.close();
      await temp.cleanup();
    },
  };
}

describe('dashboard serving', () => {
  let dist: string;
  let s: Awaited<ReturnType<typeof server>>;
  before(async () => {
    dist = fakeDist();
    s = await server(dist);
  });
  after(async () => {
    await s.close();
    rmSync(dist, { recursive: true, force: true });
  });

  it('answers every client route with index.html under the dashboard policy, never cached stale', async () => {
    // The client router's own list: a screen added there and not here is a 404 on reload.
    for (const url of ROUTE_PATHS.map((p) => p.replace(':id', 'ox-1'))) {
      const r = await s.app.inject({ url });
      assert.equal(r.statusCode, 200, url);
      assert.equal(r.body, INDEX);
      assert.match(String(r.headers['content-type']), /text\/html/);
      assert.equal(r.headers['content-security-policy'], DASHBOARD_CSP);
      assert.equal(r.headers['cache-control'], 'no-cache');
      assert.equal(r.headers['x-content-type-options'], 'nosniff', 'helmet headers stay');
    }
  });

  it('serves the posture screen on a reload or a typed URL', async () => {
    const r = await s.app.inject({ url: '/posture' });
    assert.equal(r.statusCode, 200);
    assert.equal(r.body, INDEX);
  });

  it('serves exactly the paths the client router opens a screen for', () => {
    assert.deepEqual([...DASHBOARD_PATHS].sort(), [...ROUTE_PATHS].sort());
    for (const path of DASHBOARD_PATHS)
      assert.notEqual(matchRoute(path.replace(':id', 'p-1')).screen, 'unknown', path);
  });

  it('keeps the policy strict: scripts only from itself, no plugins, no framing', () => {
    assert.match(DASHBOARD_CSP, /script-src 'self'(;|$)/);
    assert.match(DASHBOARD_CSP, /object-src 'none'/);
    assert.match(DASHBOARD_CSP, /frame-ancestors 'none'/);
    assert.match(DASHBOARD_CSP, /connect-src 'self'/);
    assert.doesNotMatch(DASHBOARD_CSP, /unsafe-inline|unsafe-eval|\*/);
  });

  it('does not answer API, FHIR, docs or unknown paths with the page', async () => {
    for (const url of ['/api/v1/nothing', '/fhir/R4/Nothing', '/metricsx', '/nowhere', '/patients/a/b']) {
      const r = await s.app.inject({ url });
      assert.equal(r.statusCode, 404, url);
      assert.match(String(r.headers['content-type']), /application\/problem\+json/, url);
    }
    const health = await s.app.inject({ url: '/healthz' });
    assert.equal(health.json().status, 'ok');
    assert.notEqual(health.headers['content-security-policy'], DASHBOARD_CSP, 'API keeps its own headers');
  });

  it('answers a browser lost on an unknown dashboard path with the page, still a 404', async () => {
    const html = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
    for (const url of ['/no-such-screen', '/patients/a/b', '/Fleet/?tab=2']) {
      const r = await s.app.inject({ url, headers: { accept: html } });
      assert.equal(r.statusCode, 404, url);
      assert.equal(r.body, INDEX, url);
      assert.match(String(r.headers['content-type']), /text\/html/, url);
      assert.equal(r.headers['content-security-policy'], DASHBOARD_CSP, url);
      assert.equal(r.headers['cache-control'], 'no-cache', url);
    }
  });

  it('keeps problem documents for API, FHIR and other machine paths even when HTML is accepted', async () => {
    const html = 'text/html,*/*;q=0.8';
    for (const url of [
      '/api/v1/nothing',
      '/api/nothing',
      '/fhir/R4/Nothing',
      '/docs/nothing',
      '/metrics/x',
      '/.well-known/nothing',
      '/assets/index-NEWHASH.js',
    ]) {
      const r = await s.app.inject({ url, headers: { accept: html } });
      assert.equal(r.statusCode, 404, url);
      assert.match(String(r.headers['content-type']), /application\/problem\+json/, url);
    }
    for (const [method, accept] of [
      ['GET', 'application/json'],
      ['GET', '*/*'],
      ['POST', html],
    ] as const) {
      const r = await s.app.inject({ method, url: '/no-such-screen', headers: { accept } });
      assert.equal(r.statusCode, 404, `${method} ${accept}`);
      assert.match(String(r.headers['content-type']), /application\/problem\+json/, `${method} ${accept}`);
    }
  });

  it('serves hashed assets as immutable, compressed when the browser accepts it', async () => {
    const plain = await s.app.inject({ url: '/assets/index-abc.js' });
    assert.equal(plain.body, SCRIPT);
    assert.match(String(plain.headers['cache-control']), /immutable/);
    assert.match(String(plain.headers['content-type']), /javascript/);
    const gz = await s.app.inject({ url: '/assets/index-abc.js', headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(gz.rawPayload).toString(), SCRIPT);
  });

  it('answers a missing asset 404 without the immutable cache, so a later build can add it', async () => {
    for (const url of ['/assets/index-NEWHASH.js', '/assets/index-abc.js.map']) {
      const r = await s.app.inject({ url });
      assert.equal(r.statusCode, 404, url);
      assert.equal(r.headers['cache-control'], 'no-store', url);
      assert.match(String(r.headers['content-type']), /application\/problem\+json/);
    }
  });

  it('refuses paths outside the assets folder and dot files', async () => {
    for (const url of [
      '/assets/..%2F.env',
      '/assets/.env',
      '/assets/%2e%2e%2findex.html',
      '/.env',
      '/assets/nope.js',
    ]) {
      const r = await s.app.inject({ url });
      assert.ok(r.statusCode === 400 || r.statusCode === 404, `${url} answered ${r.statusCode}`);
      assert.doesNotMatch(r.body, /SECRET/);
    }
  });

  it('says how to build the dashboard when web/dist is missing, and still serves the API', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'vigil-nodist-'));
    const bare = await server(empty);
    try {
      const page = await bare.app.inject({ url: '/' });
      assert.equal(page.statusCode, 503);
      assert.match(page.body, /npm run build:web/);
      assert.equal((await bare.app.inject({ url: '/healthz' })).statusCode, 200);
    } finally {
      await bare.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
