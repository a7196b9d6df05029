import type { Kysely } from 'kysely';
import { CRL_VALIDITY_MS, type DeviceCa } from '../pki/index.ts';
import type { Schema } from '../store/schema.ts';
import { issueDeviceCrl } from './device-ca.ts';
import type { DeviceStore } from './devices.store.ts';

export interface CurrentCrl {
  der: Buffer;
  thisUpdateMs: number;
  nextUpdateMs: number;
}

/**
 * The revocation list the server hands out (`GET /api/v1/pki/crl`), signed again only when a
 * revocation may have changed it (`invalidate`, called wherever the device directory reloads)
 * or when an hour has passed, so a relying party that fetches it hourly always holds a list
 * valid for about a day. Concurrent requests share one signing.
 */
export class RevocationList {
  private current: Promise<CurrentCrl> | undefined;
  private issuedAtMs = 0;

  constructor(
    private readonly deps: {
      db: Kysely<Schema>;
      devices: DeviceStore;
      ca: DeviceCa;
      clock?: () => number;
      /** Re-sign after this long even without a change (default one hour). */
      refreshMs?: number;
    },
  ) {}

  invalidate(): void {
    this.current = undefined;
  }

  get(): Promise<CurrentCrl> {
    const now = (this.deps.clock ?? Date.now)();
    if (this.current === undefined || now - this.issuedAtMs >= (this.deps.refreshMs ?? 3_600_000)) {
      this.issuedAtMs = now;
      const issuing = this.issue(now);
      this.current = issuing;
      // A failed signing is not cached: the next request tries again.
      issuing.catch(() => {
        if (this.current === issuing) this.current = undefined;
      });
    }
    return this.current;
  }

  private async issue(nowMs: number): Promise<CurrentCrl> {
    const revoked = await this.deps.devices.revokedCertificates();
    const der = await issueDeviceCrl(this.deps.db, this.deps.ca, revoked, nowMs);
    return { der, thisUpdateMs: nowMs, nextUpdateMs: nowMs + CRL_VALIDITY_MS };
  }
}
