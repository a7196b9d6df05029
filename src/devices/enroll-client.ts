import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { VigilError } from '../errors/catalogue.ts';
import { isValidId } from '../errors/ids.ts';
import { createDeviceKeyAndCsr } from '../pki/index.ts';

export interface EnrolledCredentials {
  keyPem: string;
  /** Leaf certificate followed by the issuing chain, as TLS clients send it. */
  certPem: string;
  /** The anchor that verifies Vigil's server certificate. */
  caPem: string;
}

/**
 * The device side of enrollment: make a key that never leaves the device, send a CSR with the
 * one-time token over server-authenticated TLS (pinned to the Vigil CA), keep the certificate.
 */
export async function enrollDevice(opts: {
  serverUrl: string;
  caPem: string;
  deviceId: string;
  token: string;
  /** Told when the server pauses this source and the client waits `seconds` to try again. */
  onPause?: (seconds: number) => void;
}): Promise<EnrolledCredentials> {
  const { keyPkcs8Pem, csrPem } = await createDeviceKeyAndCsr(opts.deviceId);
  const issued = await postForCertificate(
    'enrollment',
    endpoint(opts.serverUrl, '/api/v1/enroll'),
    { deviceId: opts.deviceId, token: opts.token, csr: csrPem },
    { ca: opts.caPem },
    opts.onPause,
  );
  return { keyPem: keyPkcs8Pem, certPem: issued, caPem: opts.caPem };
}

/**
 * The device side of renewal: a new key, and a CSR for it sent over mutual TLS with the
 * current certificate, which is what proves the device's identity. The old certificate is
 * revoked by the server once the new one is issued; keep the old files until the new ones
 * are written.
 */
export async function renewDevice(opts: {
  serverUrl: string;
  current: EnrolledCredentials;
  onPause?: (seconds: number) => void;
}): Promise<EnrolledCredentials> {
  const deviceId = deviceIdOf(opts.current.certPem);
  const { keyPkcs8Pem, csrPem } = await createDeviceKeyAndCsr(deviceId);
  const issued = await postForCertificate(
    'renewal',
    endpoint(opts.serverUrl, '/api/v1/enroll/renew'),
    { csr: csrPem },
    { ca: opts.current.caPem, key: opts.current.keyPem, cert: opts.current.certPem },
    opts.onPause,
  );
  return { keyPem: keyPkcs8Pem, certPem: issued, caPem: opts.current.caPem };
}

/** The device id a certificate names (its CN), from the leaf of a PEM chain. */
export function deviceIdOf(certPem: string): string {
  let cn: string | undefined;
  try {
    cn = /^CN=(.*)$/m.exec(new X509Certificate(certPem).subject)?.[1];
  } catch (cause) {
    throw new VigilError('VIGIL_ERR_REQUEST_INVALID', 'the device certificate does not parse', { cause });
  }
  if (cn === undefined || !isValidId(cn))
    throw new VigilError('VIGIL_ERR_REQUEST_INVALID', 'the device certificate names no valid device id');
  return cn;
}

function endpoint(serverUrl: string, path: string): URL {
  const url = new URL(path, serverUrl);
  if (url.protocol !== 'https:')
    throw new VigilError('VIGIL_ERR_REQUEST_INVALID', `--server ${serverUrl} must be an https:// URL`);
  return url;
}

/** How long a paused enrolment (429 with Retry-After) is waited out, and how often. */
const RETRY_AFTER_MAX_S = 60;
const RETRIES_WHEN_PAUSED = 2;

interface Answer {
  status: number;
  text: string;
  retryAfterS: number | undefined;
}

/**
 * POSTs JSON over TLS pinned to the Vigil CA; answers the certificate followed by its chain. A
 * source sending many enrolments at once (a provisioning station) is paused for the rest of a
 * minute with 429 and Retry-After: the client waits that out, a couple of times, rather than
 * failing a batch that would pass a minute later.
 */
async function postForCertificate(
  what: 'enrollment' | 'renewal',
  url: URL,
  payload: Record<string, string>,
  tls: { ca: string; key?: string; cert?: string },
  onPause?: (seconds: number) => void,
): Promise<string> {
  const body = JSON.stringify(payload);
  let response = await post(url, body, tls);
  for (let retry = 0; retry < RETRIES_WHEN_PAUSED; retry++) {
    const seconds = response.retryAfterS;
    if (response.status !== 429 || seconds === undefined || seconds > RETRY_AFTER_MAX_S) break;
    onPause?.(seconds);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    response = await post(url, body, tls);
  }
  let parsed: { certificate?: unknown; chain?: unknown; detail?: unknown; code?: unknown };
  try {
    parsed = JSON.parse(response.text) as typeof parsed;
  } catch {
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      `${what} answered ${response.status} with a body that is not JSON`,
    );
  }
  if (response.status !== 200 || typeof parsed.certificate !== 'string' || typeof parsed.chain !== 'string') {
    const detail = typeof parsed.detail === 'string' ? parsed.detail : `status ${response.status}`;
    // The server's own code where it is one of the enrolment refusals (a pause, a quota), so the
    // caller is not told to fix a token that was fine.
    const code =
      parsed.code === 'VIGIL_ERR_ENROLL_THROTTLED' || parsed.code === 'VIGIL_ERR_ENROLL_TOO_OFTEN'
        ? parsed.code
        : what === 'enrollment'
          ? 'VIGIL_ERR_ENROLL_BAD_TOKEN'
          : 'VIGIL_ERR_ENROLL_BAD_CSR';
    throw new VigilError(code, `${what} refused: ${detail}`);
  }
  return `${parsed.certificate.trim()}\n${parsed.chain.trim()}\n`;
}

function post(url: URL, body: string, tls: { ca: string; key?: string; cert?: string }): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ...tls,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        const header = res.headers['retry-after'];
        const retryAfterS = header !== undefined && /^\d{1,4}$/.test(header) ? Number(header) : undefined;
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), retryAfterS }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url.origin} within 15 s`)));
    req.on('error', reject);
    req.end(body);
  }).catch((e: Error) => {
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      `could not reach ${url.origin}: ${e.message}; is "vigil serve" running there?`,
    );
  });
}
