import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiTokens } from '../src/access/api-tokens.ts';
import { can, type Permission, ROLES, type Role } from '../src/access/roles.ts';
import type { RouteAccess } from '../src/server/http.ts';
import { type HttpsResult, httpsRequest } from './support/https-client.ts';
import { testHttpServer } from './support/test-http-server.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

/** The catalogue code of a refusal: a problem document's `code`, or a FHIR OperationOutcome's coding. */
function errorCode(r: HttpsResult): string | undefined {
  const doc = r.json as { code?: string; issue?: Array<{ details?: { coding?: Array<{ code?: string }> } }> };
  return doc?.code ?? doc?.issue?.[0]?.details?.coding?.[0]?.code;
}

/**
 * Whether a refusal came from the route's permission rule, not from the patient gate behind it:
 * a clinician asking for a patient id that names nobody is refused as for a patient outside
 * their care team (patient-id-probing.test.ts), after their permission let them through.
 */
function isPermissionRefusal(r: HttpsResult): boolean {
  if (r.status === 401) return true;
  if (r.status !== 403) return false;
  const doc = r.json as { detail?: string; issue?: Array<{ details?: { text?: string } }> };
  const detail = doc?.detail ?? doc?.issue?.[0]?.details?.text ?? '';
  return !/may not (read|export) patient no-such-id: no care-team link/.test(detail);
}

/** The permissions a route asks for: one, or any of several (the live stream); null: no permission rule. */
function permissionsOf(access: RouteAccess): readonly Permission[] | null {
  if ('permission' in access) return [access.permission];
  if ('anyPermission' in access) return access.anyPermission;
  return null;
}
const mayCall = (role: Role, access: RouteAccess) => (permissionsOf(access) ?? []).some((p) => can(role, p));

/** A body each write route accepts, so the matrix tests authorization rather than validation. */
const BODIES: Record<string, unknown> = {
  'POST /api/v1/devices/:id/quarantine': { reason: 'authorization matrix' },
  'POST /api/v1/enroll': { deviceId: 'no-such-id', token: 'enr_xxxxxxxxxxxxxxxx', csr: 'x'.repeat(120) },
};

describe('HTTP surface', () => {
  let h: Harness;
  const tokens = new Map<Role, string>();
  before(async () => {
    h = await startHarness();
    for (const role of ROLES) {
      tokens.set(
        role,
        (await new ApiTokens(h.vigil.store.db).create({ role, name: `matrix-${role}`, ttlSeconds: 600 }))
          .token,
      );
    }
  });
  after(() => h.stop());

  /** A request as a browser makes it: cookies and headers, no bearer token. */
  function asBrowser(path: string, method: string, headers: Record<string, string>, body?: unknown) {
    return httpsRequest(`${h.baseUrl}${path}`, {
      ca: h.caPem,
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  /** A full session for a user of the role, made directly in the store as sign-in would. */
  async function sessionFor(role: Role): Promise<{ cookie: string; 'x-csrf-token': string }> {
    const { user } = await h.vigil.access.users.create({
      username: `matrix-${role}-${Math.random().toString(36).slice(2, 8)}`,
      role,
      password: 'matrix passphrase for every role',
    });
    const s = await h.vigil.access.sessions.create(user.id, 'full', undefined);
    return { cookie: `__Host-vigil_session=${s.id}`, 'x-csrf-token': s.csrfToken };
  }

  it('answers /healthz without credentials', async () => {
    const r = await h.api('/healthz', { token: '' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { status: 'ok', mqtt: true, store: true });
  });

  it('sets security headers on every response', async () => {
    for (const path of ['/healthz', '/api/v1/devices', '/no/such/route']) {
      const r = await h.api(path);
      assert.match(String(r.headers['content-security-policy']), /default-src 'self'/);
      assert.match(String(r.headers['content-security-policy']), /frame-ancestors 'none'/);
      assert.match(String(r.headers['strict-transport-security']), /max-age=31536000/);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
    }
  });

  it('answers unknown routes and bad queries with problem documents', async () => {
    const missing = await h.api('/no/such/route');
    assert.equal(missing.status, 404);
    assert.match(String(missing.headers['content-type']), /application\/problem\+json/);
    assert.deepEqual(Object.keys(missing.json as object).sort(), [
      'code',
      'detail',
      'instance',
      'status',
      'title',
      'type',
    ]);
    const bad = await h.api('/api/v1/patients/p-1/observations?from=yesterday', { token: h.clinicianToken });
    assert.equal(bad.status, 400);
    assert.equal((bad.json as { code: string }).code, 'VIGIL_ERR_REQUEST_INVALID');
    assert.match((bad.json as { detail: string }).detail, /from=yesterday is not an ISO 8601/);
    const extra = await h.api('/api/v1/security/events?limit=5000');
    assert.equal(extra.status, 400);
  });

  it('describes every route in OpenAPI 3 at /docs', async () => {
    const r = await h.api('/docs', { token: '' });
    const doc = r.json as { openapi: string; paths: Record<string, Record<string, unknown>> };
    assert.match(doc.openapi, /^3\./);
    for (const route of h.vigil.routes.filter((x) => x.url !== '/docs')) {
      // A wildcard (the OCSP GET form's path) is the parameter named '*' in OpenAPI.
      const path = route.url.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{*}');
      assert.ok(
        doc.paths[path]?.[route.method.toLowerCase()],
        `${route.method} ${route.url} missing from /docs`,
      );
    }
  });

  it('refuses integer query parameters not written in decimal digits on every route that has one', async () => {
    const doc = (await h.api('/docs', { token: '' })).json as {
      paths: Record<
        string,
        Record<string, { parameters?: Array<{ in: string; name: string; schema?: { type?: string } }> }>
      >;
    };
    let checked = 0;
    for (const route of h.vigil.routes.filter((r) => r.method === 'GET')) {
      const params = doc.paths[route.url.replace(/:(\w+)/g, '{$1}')]?.get?.parameters ?? [];
      const role = ROLES.find((r) => mayCall(r, route.access));
      for (const p of params.filter((x) => x.in === 'query' && x.schema?.type === 'integer')) {
        const url = `${route.url.replace(/:(\w+)/g, 'no-such-id')}?${p.name}=0x10`;
        const r = await h.api(url, role ? { token: tokens.get(role)! } : {});
        assert.equal(r.status, 400, `${url}: ${r.text}`);
        assert.match(
          (r.json as { detail: string }).detail,
          new RegExp(`querystring/${p.name} must be a whole`),
        );
        checked++;
      }
    }
    assert.ok(checked >= 5, `only ${checked} integer query parameters found`);
  });

  it('refuses to register a route that declares no access rule', async () => {
    const { app } = await testHttpServer(new ApiTokens(h.vigil.store.db));
    try {
      assert.throws(() => app.get('/api/v1/forgotten', async () => 'no rule'), /declares no access rule/);
    } finally {
      await app.close();
    }
  });

  describe('authorization matrix (built from the route table)', () => {
    it('refuses every protected route without a token', async () => {
      for (const route of h.vigil.routes.filter((r) => permissionsOf(r.access))) {
        const url = route.url.replace(/:(\w+)/g, 'no-such-id');
        const body = BODIES[`${route.method} ${route.url}`];
        const r = await h.api(url, {
          method: route.method,
          token: '',
          ...(body === undefined ? {} : { body }),
        });
        assert.equal(r.status, 401, `${route.method} ${route.url} without a token answered ${r.status}`);
      }
    });

    it('lets each role through exactly the routes its permissions allow', async () => {
      for (const route of h.vigil.routes) {
        if (!permissionsOf(route.access)) continue;
        for (const role of ROLES) {
          const url = route.url.replace(/:(\w+)/g, 'no-such-id');
          const body = BODIES[`${route.method} ${route.url}`];
          const r = await h.api(url, {
            method: route.method,
            token: tokens.get(role)!,
            ...(body === undefined ? {} : { body }),
          });
          if (mayCall(role, route.access)) {
            assert.ok(!isPermissionRefusal(r), `${role} refused on ${route.method} ${route.url}: ${r.text}`);
          } else {
            assert.equal(r.status, 403, `${role} allowed on ${route.method} ${route.url} (${r.status})`);
            assert.equal(errorCode(r), 'VIGIL_ERR_AUTH_FORBIDDEN');
          }
        }
      }
    });

    it('lets each role signed in by session cookie through exactly the routes its permissions allow', async () => {
      for (const role of ROLES) {
        const session = await sessionFor(role);
        for (const route of h.vigil.routes) {
          if (!permissionsOf(route.access)) continue;
          const body = BODIES[`${route.method} ${route.url}`];
          const r = await asBrowser(route.url.replace(/:(\w+)/g, 'no-such-id'), route.method, session, body);
          if (mayCall(role, route.access)) {
            assert.ok(
              !isPermissionRefusal(r),
              `${role} session refused on ${route.method} ${route.url}: ${r.text}`,
            );
          } else {
            assert.equal(
              r.status,
              403,
              `${role} session allowed on ${route.method} ${route.url} (${r.status})`,
            );
            assert.equal(errorCode(r), 'VIGIL_ERR_AUTH_FORBIDDEN');
          }
        }
      }
    });

    it('refuses cookie-authenticated changes without the CSRF token on every write route', async () => {
      const { cookie } = await sessionFor('admin');
      for (const route of h.vigil.routes) {
        if (!(permissionsOf(route.access) || 'account' in route.access) || route.method === 'GET') continue;
        const body = BODIES[`${route.method} ${route.url}`];
        const r = await asBrowser(route.url.replace(/:(\w+)/g, 'no-such-id'), route.method, { cookie }, body);
        assert.equal(r.status, 403, `${route.method} ${route.url} without CSRF token answered ${r.status}`);
        assert.equal(errorCode(r), 'VIGIL_ERR_AUTH_CSRF', `${route.method} ${route.url} ${r.text}`);
      }
    });

    it('opens the account routes to signed-in users only, never to tokens or strangers', async () => {
      const session = await sessionFor('patient');
      for (const route of h.vigil.routes.filter((x) => 'account' in x.access)) {
        const url = route.url.replace(/:(\w+)/g, 'no-such-id');
        const none = await h.api(url, { method: route.method, token: '' });
        assert.equal(none.status, 401, `${route.method} ${route.url} without credentials: ${none.status}`);
        const token = await h.api(url, { method: route.method, token: tokens.get('admin')! });
        assert.equal(token.status, 403, `${route.method} ${route.url} with a bearer token: ${token.status}`);
        if (route.url === '/api/v1/auth/logout') continue;
        const user = await asBrowser(url, route.method, session);
        assert.ok(
          user.status !== 401 && user.status !== 403,
          `${route.method} ${route.url} refused a user: ${user.text}`,
        );
      }
    });

    it('requires the device certificate on device routes', async () => {
      for (const route of h.vigil.routes.filter((r) => 'device' in r.access)) {
        const r = await httpsRequest(`${h.baseUrl}${route.url.replace(/:(\w+)/g, 'no-such-id')}`, {
          method: route.method,
          ca: h.caPem,
          token: tokens.get('admin')!,
          body: '{}',
        });
        assert.equal(
          r.status,
          401,
          `${route.method} ${route.url} without a client certificate answered ${r.status}`,
        );
      }
    });
  });
});
