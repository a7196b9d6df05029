import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import type { App } from './http.ts';

/** Where `npm run build:web` puts the dashboard (web/vite.config.ts). */
export const DEFAULT_WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

/**
 * The dashboard's client-side routes (web/src/lib/routes.ts; test/dashboard-serving.test.ts
 * fails when the two lists differ). Each is listed rather than caught
 * by a wildcard, so unknown paths, and everything under /api, /fhir, /docs, /metrics and
 * /healthz, still get the API's problem-document 404.
 */
export const DASHBOARD_PATHS = [
  '/',
  '/patients',
  '/patients/:id',
  '/alerts',
  '/fleet',
  '/security',
  '/posture',
  '/users',
  '/care-teams',
  '/consent',
  '/webhooks',
  '/enrol-device',
  '/devices/:id',
  '/audit',
  '/account',
] as const;

/**
 * The page's policy. No inline script or style anywhere (Vite emits files only), scripts only
 * from this origin, Trusted Types required for script sinks, no framing (clickjacking), no
 * plugins; connect-src 'self' covers same-origin fetch and the wss:// live stream (CSP Level 3
 * §6.7.2.8 matches ws/wss against 'self'). img-src allows data: for the QR code drawn in the
 * browser at TOTP enrolment.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
  "require-trusted-types-for 'script'",
].join('; ');

const PAGE = { public: true } as const;

/**
 * First path segments that belong to machines (the API, FHIR, OpenAPI, metrics, health, the
 * dashboard's own assets, RFC 8615 well-known URIs): an unknown path there is always a
 * problem document, whatever the client accepts.
 */
const MACHINE_PREFIXES = new Set(['api', 'fhir', 'docs', 'metrics', 'healthz', 'assets', '.well-known']);

/**
 * A person who typed or followed a dashboard address that does not exist (GET or HEAD, asking
 * for HTML, outside the machine prefixes): they get the page, whose router says "Page not
 * found" with a link home, instead of a JSON problem document in the browser window.
 */
export function isLostBrowserNavigation(method: string, path: string, accept: string | undefined): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  if (!/\btext\/html\b/i.test(accept ?? '')) return false;
  const first = path.split('/')[1] ?? '';
  return !MACHINE_PREFIXES.has(first.toLowerCase());
}
const ASSET_NAME = '^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$';

/**
 * Serves the dashboard (web/dist) on the API's own HTTPS origin: index.html for every client
 * route (never cached, so a new build shows at once) and the hashed assets (cached for a year,
 * immutable; gzip/brotli files from the build are sent when the browser accepts them).
 */
export async function registerWebRoutes(app: App, opts: { distDir?: string } = {}): Promise<void> {
  const distDir = opts.distDir ?? DEFAULT_WEB_DIST;
  const isBuilt = existsSync(join(distDir, 'index.html'));
  if (isBuilt) {
    await app.register(fastifyStatic, {
      root: distDir,
      serve: false,
      preCompressed: true,
      dotfiles: 'deny',
      index: false,
      // Browsers revalidate index.html; hashed asset names change with their content.
      cacheControl: false,
    });
  }

  const sendPage = (reply: FastifyReply) => {
    void reply.header('content-security-policy', DASHBOARD_CSP);
    if (!isBuilt) {
      // A server started from a fresh clone without `npm run build:web`: say so, do not fail.
      return reply
        .code(503)
        .header('cache-control', 'no-store')
        .type('text/plain; charset=utf-8')
        .send('The Vigil dashboard is not built. Run "npm run build:web" (npm start does it for you).\n');
    }
    return reply.header('cache-control', 'no-cache').sendFile('index.html');
  };

  // Requests no route matched reach the not-found handler (src/server/http.ts) through the
  // root's onRequest hooks; a lost browser navigation is answered here with the page, still
  // status 404, so links checkers and monitoring see the address is wrong.
  app.addHook('onRequest', async (request, reply) => {
    if (!request.is404 || !isBuilt) return;
    const path = request.url.split('?')[0] ?? '';
    if (!isLostBrowserNavigation(request.method, path, request.headers.accept)) return;
    return sendPage(reply.code(404));
  });

  for (const url of DASHBOARD_PATHS) {
    app.get(
      url,
      {
        config: { access: PAGE },
        schema: {
          summary: 'The dashboard (single-page app); signs in with /api/v1/auth',
          tags: ['dashboard'],
          ...(url.includes(':id')
            ? { params: Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }) }) }
            : {}),
        },
      },
      async (_request, reply) => sendPage(reply),
    );
  }

  app.get(
    '/assets/:file',
    {
      config: { access: PAGE },
      schema: {
        summary: 'Dashboard scripts, styles and images (content-hashed names)',
        tags: ['dashboard'],
        params: Type.Object({ file: Type.String({ pattern: ASSET_NAME }) }),
      },
    },
    async (request, reply) => {
      const file = `assets/${request.params.file}`;
      // A year's immutable cache only for a file that is there: a 404 cached that long would
      // keep a browser from an asset a later build or a deploy still in progress adds.
      if (!isBuilt || !isFile(join(distDir, file))) {
        void reply.header('cache-control', 'no-store');
        return reply.callNotFound();
      }
      void reply.header('content-security-policy', DASHBOARD_CSP);
      void reply.header('cache-control', 'public, max-age=31536000, immutable');
      return reply.sendFile(file);
    },
  );
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}
