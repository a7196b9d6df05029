import type { SecureContextOptions, TlsOptions } from 'node:tls';

/**
 * The one TLS policy for every listener (HTTPS and MQTT): TLS 1.2 and 1.3 only, forward-secret
 * key exchange and AEAD ciphers only (no CBC, no SHA-1 MACs, no RSA key transport), in the
 * spirit of NIST SP 800-52 Rev. 2 and Mozilla's "intermediate" profile. Node's default list
 * still admits CBC suites through "HIGH"; this one does not.
 */
export const TLS_CIPHERS = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-RSA-AES128-GCM-SHA256',
].join(':');

export const TLS_POLICY: Pick<
  TlsOptions & SecureContextOptions,
  'minVersion' | 'ciphers' | 'honorCipherOrder' | 'ecdhCurve'
> = {
  minVersion: 'TLSv1.2',
  ciphers: TLS_CIPHERS,
  honorCipherOrder: true,
  ecdhCurve: 'X25519:P-256:P-384',
};
