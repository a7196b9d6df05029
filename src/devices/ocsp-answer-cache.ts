import type { IssuedCertificateStatus, OcspAnswer } from '../pki/index.ts';

/**
 * How long a signed answer without a nonce is handed out again: a twelfth of its hour
 * (OCSP_VALIDITY_MS), so an answer served from here is still valid for 55 minutes or more.
 * It is also the bound on staleness where no invalidation reaches this process (a revocation
 * by another Vigil process on PostgreSQL; on SQLite the device poll notices within a second).
 */
export const OCSP_CACHE_MAX_AGE_MS = 5 * 60_000;

/**
 * Bytes held at once, counted as the signed answer, its key and serials, and a flat allowance
 * for the objects around them. An answer about one certificate counts about 900 bytes, so this
 * holds some 9,000; a client asking about random serials evicts the least recently used
 * instead of growing the heap.
 */
export const OCSP_CACHE_MAX_BYTES = 8 * 1024 * 1024;

/** The map entry, the entry object and its statuses map, roughly, as V8 lays them out. */
const ENTRY_OVERHEAD_BYTES = 512;

export interface CachedOcspAnswer {
  /** A successful answer without a nonce, exactly as first sent. */
  readonly answer: OcspAnswer;
  /** The serials it answers for and what the store said of them when it was signed. */
  readonly serials: readonly string[];
  readonly statuses: ReadonlyMap<string, IssuedCertificateStatus>;
  readonly signedAtMs: number;
  /** The cache generation whose statuses it matches; older ones are checked against the store. */
  generation: number;
}

/**
 * Signed OCSP answers by CertIDs asked, least recently used first, bounded in bytes. A status
 * change does not drop entries: `invalidate` starts a new generation, and an entry of an older
 * one is served again only once the store confirms the statuses it was signed with
 * (ocsp-responder.ts). A revocation anywhere in the fleet then costs one store lookup per
 * cached answer, not a signature each.
 */
export class OcspAnswerCache {
  /** Map order is use order: the first entry is the least recently used. */
  private readonly entries = new Map<string, CachedOcspAnswer>();
  private heldBytes = 0;
  private currentGeneration = 0;

  constructor(
    private readonly policy: { maxAgeMs: number; maxBytes: number } = {
      maxAgeMs: OCSP_CACHE_MAX_AGE_MS,
      maxBytes: OCSP_CACHE_MAX_BYTES,
    },
  ) {}

  get generation(): number {
    return this.currentGeneration;
  }

  /** A certificate's status may have changed: every entry must be checked before it is served. */
  invalidate(): void {
    this.currentGeneration++;
  }

  /** The entry for `key`, unless it is too old to hand out (then it is dropped). */
  get(key: string, nowMs: number): CachedOcspAnswer | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    // A wall clock stepped back would otherwise stretch an entry's life.
    const ageMs = nowMs - entry.signedAtMs;
    if (ageMs >= this.policy.maxAgeMs || ageMs < 0) {
      this.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  set(key: string, entry: CachedOcspAnswer): void {
    const bytes = sizeOf(key, entry);
    if (bytes > this.policy.maxBytes) return;
    this.delete(key);
    this.entries.set(key, entry);
    this.heldBytes += bytes;
    for (const [oldest, old] of this.entries) {
      if (this.heldBytes <= this.policy.maxBytes) break;
      this.entries.delete(oldest);
      this.heldBytes -= sizeOf(oldest, old);
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.heldBytes -= sizeOf(key, entry);
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.heldBytes;
  }
}

/** What an entry holds that grows with the request: the signed bytes, the key and the serials. */
function sizeOf(key: string, entry: CachedOcspAnswer): number {
  const serialChars = entry.serials.reduce((n, s) => n + s.length, 0);
  return ENTRY_OVERHEAD_BYTES + entry.answer.der.length + key.length + serialChars;
}
