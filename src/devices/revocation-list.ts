import type { Kysely } from 'kysely';
import type { DeviceCa } from '../pki/index.ts';
import type { Schema } from '../store/schema.ts';
import { type IssuedCrl, issueDeviceCrl } from './device-ca.ts';
import { OCSP_PATH } from './ocsp-responder.ts';

/** Where the server publishes the device CA's CRL (DER; `?format=pem` for PEM). */
export const CRL_PATH = '/api/v1/pki/crl';

/** Where a device certificate tells relying parties to check it; both or neither. */
export interface DeviceRevocationUrls {
  crlUrl?: string;
  ocspUrl?: string;
}

/**
 * The CRL distribution point and OCSP responder written into device certificates: only with
 * `VIGIL_PUBLIC_URL` set, since relying parties must reach them for as long as the certificate
 * lives. DER at a plain URL is what RFC 5280 §4.2.1.13 expects an HTTP distribution point to
 * serve; the OCSP address is the one a client POSTs to (RFC 6960 Appendix A.1).
 */
export function deviceRevocationUrls(publicUrl: string | undefined): DeviceRevocationUrls {
  return publicUrl === undefined
    ? {}
    : { crlUrl: `${publicUrl}${CRL_PATH}`, ocspUrl: `${publicUrl}${OCSP_PATH}` };
}

/**
 * The revocation list the server hands out (`GET /api/v1/pki/crl`), signed again only when a
 * revocation may have changed it (`invalidate`, called wherever the device directory reloads)
 * or when an hour has passed, so a relying party that fetches it hourly always holds a list
 * valid for about a day. Concurrent requests share one signing.
 */
export class RevocationList {
  private current: Promise<IssuedCrl> | undefined;
  private issuedAtMs = 0;

  constructor(
    private readonly deps: {
      db: Kysely<Schema>;
      ca: DeviceCa;
      clock?: () => number;
      /** Re-sign after this long even without a change (default one hour). */
      refreshMs?: number;
    },
  ) {}

  invalidate(): void {
    this.current = undefined;
  }

  get(): Promise<IssuedCrl> {
    const now = (this.deps.clock ?? Date.now)();
    if (this.current === undefined || now - this.issuedAtMs >= (this.deps.refreshMs ?? 3_600_000)) {
      this.issuedAtMs = now;
      const issuing = issueDeviceCrl(this.deps.db, this.deps.ca, now);
      this.current = issuing;
      // A failed signing is not cached: the next request tries again.
      issuing.catch(() => {
        if (this.current === issuing) this.current = undefined;
      });
    }
    return this.current;
  }
}
