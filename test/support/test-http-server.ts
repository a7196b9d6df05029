import pino from 'pino';
import type { ApiTokens } from '../../src/access/api-tokens.ts';
import { createMetrics, type Metrics } from '../../src/observability/metrics.ts';
import { createDeviceCa, issueServerCertificate } from '../../src/pki/index.ts';
import { type App, createHttpServer, type HttpOptions } from '../../src/server/http.ts';

/**
 * Vigil's HTTP server as route tests need it: TLS from a fresh test CA, real bearer tokens, a
 * silent log and its own metrics unless the test brings them. Requests go in with inject().
 */
export async function testHttpServer(
  tokens: ApiTokens,
  options: Partial<Omit<HttpOptions, 'tls' | 'tokens'>> = {},
): Promise<{ app: App; metrics: Metrics }> {
  const ca = await createDeviceCa({ organization: 'Test' });
  const tls = await issueServerCertificate(ca, ['localhost']);
  const metrics = options.metrics ?? createMetrics();
  const { app } = await createHttpServer({
    log: pino({ level: 'silent' }),
    ...options,
    metrics,
    tls: { key: tls.keyPkcs8Pem, cert: tls.certPem, ca: [ca.root.certPem] },
    tokens,
  });
  return { app, metrics };
}
