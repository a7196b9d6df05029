import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiTokens } from '../src/access/api-tokens.ts';
import { can, ROLES } from '../src/access/roles.ts';
import type { RouteRecord } from '../src/server/http.ts';
import { httpsRequest } from './support/https-client.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

/**
 * Every JSON body Vigil accepts refuses a field it does not know, with a 400 naming it. Built from
 * the route table, so a new write route whose body schema lacks `additionalProperties: false`
 * fails here. A write route that reads no body at all is listed below, with why.
 */
const TAKES_NO_BODY = new Set<string>([
  'POST /api/v1/auth/logout',
  'PUT /api/v1/care-teams/:id/patients/:patientId',
  'DELETE /api/v1/care-teams/:id/patients/:patientId',
  'POST /api/v1/devices/:id/enrollment-token',
  'POST /api/v1/alerts/:id/ack',
  'POST /api/v1/alerts/:id/resolve',
  'POST /api/v1/patients/:id/consents/:consentId/revoke',
  'POST /api/v1/users/:id/reset-password',
  'POST /api/v1/users/:id/reset-mfa',
  'POST /api/v1/webhooks/deliveries/:id/retry',
]);

/** A registered patient, so a route that looks the patient up before reading its body gets to it. */
const PATIENT = 'strict-p1';

/** A value for each path parameter that passes its pattern, so validation reaches the body. */
const PARAM_CANDIDATES = [
  PATIENT,
  '00000000-0000-4000-8000-000000000000',
  'usr-0000000000000000',
  'no-such-id',
];

/** Routes whose body is not a Vigil JSON document: FHIR resources (validated against R4 in
 * src/fhir), device telemetry (the device protocol's own decoder, DESIGN "Device protocol") and
 * OCSP requests (DER, read by src/pki/ocsp-request.ts; test/ocsp.test.ts). */
function validatedElsewhere(route: RouteRecord): boolean {
  return route.url.startsWith('/fhir/') || 'device' in route.access || route.url === '/api/v1/pki/ocsp';
}

interface DocOperation {
  requestBody?: { content?: Record<string, { schema: OpenApiSchema }> };
  parameters?: Array<{ in: string; name: string; schema?: { pattern?: string } }>;
}

interface OpenApiSchema {
  required?: string[];
  anyOf?: OpenApiSchema[];
  oneOf?: OpenApiSchema[];
}

/**
 * A body with every required field present. Ajv checks `required` before
 * `additionalProperties` and field values after it, so any value will do: the first error is
 * then the unknown field, and the request never reaches the handler.
 */
function requiredFieldsOf(schema: OpenApiSchema): Record<string, unknown> {
  const branch = schema.anyOf?.[0] ?? schema.oneOf?.[0] ?? schema;
  return Object.fromEntries((branch.required ?? []).map((k) => [k, 'x']));
}

describe('strict request bodies (built from the route table)', () => {
  let h: Harness;
  let bodySchemas: Map<string, OpenApiSchema>;
  const paramPatterns = new Map<string, string>();
  const tokens = new Map<string, string>();
  let session: { cookie: string; 'x-csrf-token': string };

  before(async () => {
    h = await startHarness();
    for (const role of ROLES) {
      const created = await new ApiTokens(h.vigil.store.db).create({
        role,
        name: `strict-${role}`,
        ttlSeconds: 600,
      });
      tokens.set(role, created.token);
    }
    const { user } = await h.vigil.access.users.create({
      username: 'strict-admin',
      role: 'admin',
      password: 'strict bodies passphrase for admin',
    });
    const s = await h.vigil.access.sessions.create(user.id, 'full', undefined);
    await h.vigil.patients.add(PATIENT, { name: 'Strict Bodies' });
    session = { cookie: `__Host-vigil_session=${s.id}`, 'x-csrf-token': s.csrfToken };
    const docs = (await h.api('/docs', { token: '' })).json as {
      paths: Record<string, Record<string, DocOperation>>;
    };
    bodySchemas = new Map();
    for (const [path, ops] of Object.entries(docs.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const schema = op.requestBody?.content?.['application/json']?.schema;
        const key = `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`;
        if (schema) bodySchemas.set(key, schema);
        for (const p of op.parameters ?? []) {
          if (p.in === 'path' && p.schema?.pattern) paramPatterns.set(`${key} ${p.name}`, p.schema.pattern);
        }
      }
    }
  });
  after(() => h.stop());

  function paramValue(key: string, name: string): string {
    const pattern = paramPatterns.get(`${key} ${name}`);
    return PARAM_CANDIDATES.find((v) => pattern === undefined || new RegExp(pattern).test(v)) ?? 'x';
  }

  /** Credentials that pass the route's access rule, so the request reaches validation. */
  function credentials(route: RouteRecord): Record<string, string> {
    if ('account' in route.access) return session;
    if ('permission' in route.access) {
      const permission = route.access.permission;
      const role = ROLES.find((r) => can(r, permission));
      assert.ok(role, `no role holds ${permission}`);
      return { authorization: `Bearer ${tokens.get(role)}` };
    }
    return {};
  }

  it('refuses an unknown field in every JSON body, naming it', async () => {
    const writes = h.vigil.routes.filter((r) => r.method !== 'GET' && !validatedElsewhere(r));
    assert.ok(writes.length > 10, 'the route table lists the write routes');
    const failures: string[] = [];
    for (const route of writes) {
      const key = `${route.method} ${route.url}`;
      const schema = bodySchemas.get(key);
      // A route without a schema reads its body in the handler and must be as strict there.
      // A DELETE carries no body (RFC 9110 §9.3.5 gives one no meaning), so none declares one.
      if (!schema && (TAKES_NO_BODY.has(key) || route.method === 'DELETE')) continue;
      const body = { ...(schema ? requiredFieldsOf(schema) : {}), vigilUnknownField: 1 };
      const path = route.url.replace(/:(\w+)/g, (_m, name: string) => paramValue(key, name));
      const r = await httpsRequest(`${h.baseUrl}${path}`, {
        ca: h.caPem,
        method: route.method,
        headers: { 'content-type': 'application/json', ...credentials(route) },
        body: JSON.stringify(body),
      });
      const problem = r.json as { code?: string; detail?: string } | undefined;
      if (
        r.status !== 400 ||
        problem?.code !== 'VIGIL_ERR_REQUEST_INVALID' ||
        !problem.detail?.includes('vigilUnknownField')
      )
        failures.push(`${key} answered ${r.status}: ${r.text.slice(0, 160)}`);
    }
    assert.deepEqual(failures, [], 'every JSON body refuses unknown fields (additionalProperties: false)');
  });

  it('lists only real routes that truly take no body', () => {
    const writes = new Set(h.vigil.routes.map((r) => `${r.method} ${r.url}`));
    for (const key of TAKES_NO_BODY) {
      assert.ok(writes.has(key), `${key} is listed in TAKES_NO_BODY but is no route`);
      assert.ok(!bodySchemas.has(key), `${key} is listed in TAKES_NO_BODY but declares a body`);
    }
  });

  it('still takes a body with only known fields', async () => {
    const r = await h.api('/api/v1/auth/login', {
      method: 'POST',
      token: '',
      body: { username: 'nobody-here', password: 'not the password at all' },
    });
    assert.equal(r.status, 401, r.text);
  });
});
