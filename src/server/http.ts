import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import applySecurityHeaders from 'helmet';
import type { Logger } from 'pino';
import type { ApiTokens } from '../access/api-tokens.ts';
import { can, type Permission } from '../access/roles.ts';
import type { Identity, SessionAuthenticator } from '../access/session-guard.ts';
import { TLS_POLICY } from '../crypto/tls-policy.ts';
import { isVigilError, toProblem, VigilError } from '../errors/catalogue.ts';
import { LogSampler } from '../observability/log-sampler.ts';
import type { Metrics } from '../observability/metrics.ts';
import { integerQueryNames, looseIntegerQuery, validationDetail } from './validation-detail.ts';

/**
 * Every route declares who may call it; a route without a rule is refused at start-up.
 * `account`: any signed-in user (session cookie), even one who still has to change a one-time
 * password or enrol a second factor; bearer tokens are not people and are refused there.
 */
export type RouteAccess =
  | { permission: Permission }
  /** Any one of these (the live stream: each topic has its own; the route narrows what is sent). */
  | { anyPermission: readonly Permission[] }
  | { public: true }
  | { device: true }
  | { account: true };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyRequest {
    identity: Identity | undefined;
  }
  interface FastifyInstance {
    /** Refusal log lines, thinned per error code (see LogSampler). */
    refusalLog: LogSampler;
  }
}

export type App = FastifyInstance<
  import('node:https').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  import('fastify').FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface HttpOptions {
  tls: { key: string; cert: string; ca: string[] };
  log: Logger;
  metrics: Metrics;
  tokens: ApiTokens;
  /** Session-cookie authentication for signed-in users; without it only bearer tokens work. */
  sessions?: SessionAuthenticator;
  bodyLimitBytes?: number;
}

/** Routes registered so far, for the authorization matrix test and /docs. */
export interface RouteRecord {
  method: string;
  url: string;
  access: RouteAccess;
}

const SECURITY_HEADERS = {
  contentSecurityPolicy: {
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      frameAncestors: ["'none'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
    },
  },
  hsts: { maxAge: 31_536_000, includeSubDomains: true },
  crossOriginResourcePolicy: { policy: 'same-origin' as const },
};

export async function createHttpServer(opts: HttpOptions): Promise<{ app: App; routes: RouteRecord[] }> {
  // Answers for requests refused before routing (a malformed URL, a path segment too long) do
  // not pass through the hooks: helmet's headers, the counter and the log are added here.
  const setSecurityHeaders = applySecurityHeaders(SECURITY_HEADERS);
  // Each refused request is counted in /metrics; its log line is thinned per code, so a client
  // sending garbage in a loop cannot fill the disk (server errors are always logged).
  const refusalLog = new LogSampler({ log: opts.log.child({ component: 'http' }), what: 'HTTP refusals' });
  const onFrameworkError = (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const problem = toFrameworkProblem(error);
    if (problem.status >= 500)
      request.log.error({ err: loggableError(error) }, 'request failed before routing');
    else logRefusal(request, problem, refusalLog);
    setSecurityHeaders(request.raw, reply.raw, () => {});
    opts.metrics.httpRequests.inc({ status: `${Math.floor(problem.status / 100)}xx` });
    void reply.code(problem.status).type('application/problem+json').send(toProblem(problem));
  };
  const app = Fastify({
    https: {
      key: opts.tls.key,
      cert: opts.tls.cert,
      // Devices may present their Vigil certificate on the ingest route; browsers and integrations need none.
      ca: opts.tls.ca,
      requestCert: true,
      rejectUnauthorized: false,
      ...TLS_POLICY,
    },
    loggerInstance: opts.log.child({ component: 'http' }),
    // Request lines would carry patient ids in URLs; Vigil logs what it decides, not every request.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimitBytes ?? 256 * 1024,
    trustProxy: false,
    // Unknown fields are refused with a 400 naming them, not silently stripped (Fastify's
    // default); see validation-detail.ts.
    ajv: { customOptions: { removeAdditional: false } },
    frameworkErrors: onFrameworkError,
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  const routes: RouteRecord[] = [];
  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    if (!access && !route.url.startsWith('/docs')) {
      throw new Error(`route ${route.method} ${route.url} declares no access rule`);
    }
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue;
      routes.push({ method, url: route.url, access: access ?? { public: true } });
    }
    const integers = integerQueryNames(route.schema?.querystring);
    if (integers.length > 0) {
      const refuseLooseIntegers = async (request: FastifyRequest) => {
        const detail = looseIntegerQuery(request.query, integers);
        if (detail !== undefined) throw new VigilError('VIGIL_ERR_REQUEST_INVALID', detail);
      };
      const earlier = route.preValidation === undefined ? [] : [route.preValidation].flat();
      route.preValidation = [...earlier, refuseLooseIntegers] as typeof earlier;
    }
  });

  await app.register(helmet, SECURITY_HEADERS);
  await app.register(swagger, {
    openapi: {
      info: { title: 'Vigil API', version: '1', description: 'Security-first IoMT platform' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          sessionCookie: { type: 'apiKey', in: 'cookie', name: '__Host-vigil_session' },
        },
      },
    },
  });

  app.decorateRequest('identity', undefined);
  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config?.access;
    if (!access || 'public' in access || 'device' in access) return;
    const identity = await authenticate(request, opts);
    request.identity = identity;
    if ('account' in access) {
      if (identity.kind !== 'user')
        throw new VigilError('VIGIL_ERR_AUTH_FORBIDDEN', 'this route is for signed-in users, not API tokens');
      return;
    }
    if (identity.kind === 'user' && identity.stage !== 'full') {
      throw new VigilError(
        'VIGIL_ERR_AUTH_SETUP_REQUIRED',
        'change the one-time password and enrol TOTP first (POST /api/v1/auth/password, /api/v1/auth/totp)',
      );
    }
    const needed = 'permission' in access ? [access.permission] : access.anyPermission;
    const granted = needed.filter((p) => can(identity.role, p));
    if (granted.length === 0) {
      throw new VigilError(
        'VIGIL_ERR_AUTH_FORBIDDEN',
        `role ${identity.role} lacks permission ${needed.join(' or ')}`,
      );
    }
    if (identity.kind === 'token' && identity.scopes && !granted.some((p) => identity.scopes?.includes(p))) {
      throw new VigilError(
        'VIGIL_ERR_AUTH_FORBIDDEN',
        `the token's scopes do not include ${needed.join(' or ')}`,
      );
    }
  });
  // Answers under /api/ and /fhir/ carry patient data, secrets or who may do what. A clinician
  // who opens one in a tab (the session cookie goes along) would otherwise leave it in the
  // browser's disk cache after signing out (RFC 9111 §5.2.2.5). Routes that cache on purpose
  // set their own header first and keep it: the CRL and the OCSP GET form (RFC 5019 §6.2).
  app.addHook('onSend', async (request, reply, payload) => {
    if (!reply.hasHeader('cache-control') && isDataPath(request.url))
      void reply.header('cache-control', 'no-store');
    return payload;
  });
  app.addHook('onResponse', async (_request, reply) => {
    opts.metrics.httpRequests.inc({ status: `${Math.floor(reply.statusCode / 100)}xx` });
  });

  // Plugins with their own error handler (FHIR) thin their refusal lines with the same budget.
  app.decorate('refusalLog', refusalLog);
  app.addHook('onClose', async () => refusalLog.stop());
  app.setErrorHandler((error, request, reply) => {
    const problem = toVigilError(error);
    if (problem.status >= 500) {
      request.log.error({ err: loggableError(error), route: request.routeOptions.url }, 'request failed');
    } else logRefusal(request, problem);
    void reply
      .code(problem.status)
      .type('application/problem+json')
      .send(toProblem(problem, request.url.split('?')[0]));
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const problem = new VigilError('VIGIL_ERR_NOT_FOUND', `no route ${request.method} ${path.slice(0, 100)}`);
    void reply.code(404).type('application/problem+json').send(toProblem(problem, path));
  });

  app.get('/docs', { config: { access: { public: true } }, schema: { hide: true } }, async () =>
    app.swagger(),
  );
  return { app, routes };
}

/** API and FHIR paths (the answers that may carry patient data); not /docs, /healthz or the app shell. */
function isDataPath(url: string): boolean {
  return url.startsWith('/api/') || url.startsWith('/fhir/');
}

/** A bearer token wins when present (integrations); otherwise the session cookie (people). */
async function authenticate(request: FastifyRequest, opts: HttpOptions): Promise<Identity> {
  const header = request.headers.authorization;
  // The scheme name is case-insensitive (RFC 9110 §11.1): "bearer" is as good as "Bearer".
  if (header !== undefined && /^bearer /i.test(header)) {
    return opts.tokens.verify(header.slice('Bearer '.length).trim());
  }
  if (opts.sessions?.hasSessionCookie(request)) return opts.sessions.authenticate(request);
  throw new VigilError(
    'VIGIL_ERR_AUTH_REQUIRED',
    'send "Authorization: Bearer <token>" (create one with "vigil token create") or sign in at POST /api/v1/auth/login',
  );
}

/** Maps anything thrown in a route to the error catalogue, once. */
function toVigilError(error: unknown): VigilError {
  if (isVigilError(error)) return error;
  const e = error as { validation?: unknown; statusCode?: number; message?: string; code?: string };
  if (e.validation !== undefined || e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return new VigilError('VIGIL_ERR_REQUEST_INVALID', validationDetail(e));
  }
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return new VigilError(
      'VIGIL_ERR_REQUEST_MEDIA_TYPE',
      'the body is not of a media type this route reads; send it as application/json with that Content-Type',
    );
  }
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new VigilError('VIGIL_ERR_INGEST_TOO_LARGE', 'request body too large');
  if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
    return new VigilError('VIGIL_ERR_REQUEST_INVALID', (e.message ?? 'bad request').slice(0, 300));
  }
  return new VigilError('VIGIL_ERR_INTERNAL', 'an unexpected error occurred; see the server log', {
    cause: error,
  });
}

/** Refusals made before routing; their detail leaves out the URL, which may carry a patient id. */
function toFrameworkProblem(error: FastifyError): VigilError {
  if (error.code === 'FST_ERR_BAD_URL') {
    return new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      'the URL path is not validly percent-encoded; each % must begin a %XX escape of UTF-8 bytes',
    );
  }
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      'a path segment is longer than 100 characters; no Vigil id is that long',
    );
  }
  return toVigilError(error);
}

/**
 * Logs a refused request by its code, status and route pattern (/api/v1/patients/:id), never its
 * URL or detail: both may name a patient ("may not read patient mrn-…"), and the operational log
 * is read by people with no right to know who is treated here. The caller gets the detail in
 * the answer. Lines are thinned per code, so a client refused in a loop cannot fill the disk.
 */
export function logRefusal(
  request: FastifyRequest,
  problem: VigilError,
  sampler: Pick<LogSampler, 'admit'> = request.server.refusalLog,
): void {
  if (!sampler.admit(problem.code)) return;
  // Before routing (a malformed URL) there is no route pattern to name.
  const route = request.routeOptions?.url;
  request.log.info(
    { code: problem.code, status: problem.status, ...(route === undefined ? {} : { route }) },
    `request refused: ${problem.title}`,
  );
}

/**
 * A server error as the log may keep it: type, code, message and stack, through its causes, and
 * no other field. Drivers attach what they were given (PostgreSQL's `detail` reads "Key
 * (id)=(mrn-…) already exists"), which is request data. Messages stay, as the stack holds them
 * anyway; one quoting a value means a route let through input its schema should have refused.
 */
export function loggableError(error: unknown, depth = 0): Error {
  if (!(error instanceof Error)) return new Error(`a ${typeof error} was thrown, not an Error`);
  const cause = error.cause !== undefined && depth < 5 ? loggableError(error.cause, depth + 1) : undefined;
  const copy = new Error(error.message, cause === undefined ? undefined : { cause });
  copy.name = error.name;
  if (error.stack !== undefined) copy.stack = error.stack;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') Object.assign(copy, { code });
  return copy;
}

/** Who did it, for the audit trail: `user:<name>` or `token:<name>`. */
export function actorOf(request: { identity?: { actor: string } | undefined }): string {
  return request.identity?.actor ?? 'unknown';
}
