import { request } from 'node:https';
import { VigilError } from '../errors/catalogue.ts';
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
}): Promise<EnrolledCredentials> {
  const { keyPkcs8Pem, csrPem } = await createDeviceKeyAndCsr(opts.deviceId);
  const url = new URL('/api/v1/enroll', opts.serverUrl);
  if (url.protocol !== 'https:')
    throw new VigilError('VIGIL_ERR_REQUEST_INVALID', `--server ${opts.serverUrl} must be an https:// URL`);
  const body = JSON.stringify({ deviceId: opts.deviceId, token: opts.token, csr: csrPem });
  const response = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca: opts.caPem,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
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
  let parsed: { certificate?: unknown; chain?: unknown; detail?: unknown };
  try {
    parsed = JSON.parse(response.text) as typeof parsed;
  } catch {
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      `enrollment answered ${response.status} with a body that is not JSON`,
    );
  }
  if (response.status !== 200 || typeof parsed.certificate !== 'string' || typeof parsed.chain !== 'string') {
    const detail = typeof parsed.detail === 'string' ? parsed.detail : `status ${response.status}`;
    throw new VigilError('VIGIL_ERR_ENROLL_BAD_TOKEN', `enrollment refused: ${detail}`);
  }
  return {
    keyPem: keyPkcs8Pem,
    certPem: `${parsed.certificate.trim()}\n${parsed.chain.trim()}\n`,
    caPem: opts.caPem,
  };
}
