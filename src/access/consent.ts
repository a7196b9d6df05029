/**
 * Consent evaluation, after FHIR R4 Consent (provision type permit/deny, purpose, data class,
 * period). Pure: the records come in, a decision goes out with the record that made it.
 *
 * Rules, in order:
 * 1. Only active records whose period covers the moment and that name the purpose (or "*")
 *    and the data category (or "*") count.
 * 2. The most recently recorded of them decides.
 * 3. None counts: treatment is permitted (HIPAA 45 CFR 164.506 lets care proceed without a
 *    written consent); every other purpose (research, quality, ...) is denied until the
 *    patient says yes.
 */
export const PURPOSES = ['treatment', 'research', 'quality', 'payment', 'public-health'] as const;
export type Purpose = (typeof PURPOSES)[number];
export const CATEGORIES = ['vital-signs', 'alerts', 'identity', 'device'] as const;
export type Category = (typeof CATEGORIES)[number];

export interface ConsentRecord {
  id: string;
  decision: 'permit' | 'deny';
  purposes: ReadonlyArray<Purpose | '*'>;
  categories: ReadonlyArray<Category | '*'>;
  periodStart: number;
  periodEnd: number | null;
  status: 'active' | 'revoked';
  recordedAt: number;
}

export interface ConsentDecision {
  permit: boolean;
  /** The record that decided, or undefined when the default applied. */
  by: string | undefined;
  why: string;
}

/** Newest first; on a tie the record id, then deny over permit, so the list order never matters. */
function newer(a: ConsentRecord, b: ConsentRecord): boolean {
  if (a.recordedAt !== b.recordedAt) return a.recordedAt > b.recordedAt;
  if (a.id !== b.id) return a.id > b.id;
  return a.decision === 'deny' && b.decision === 'permit';
}

export function evaluateConsent(
  records: readonly ConsentRecord[],
  purpose: Purpose,
  category: Category,
  nowMs: number,
): ConsentDecision {
  let best: ConsentRecord | undefined;
  for (const r of records) {
    if (r.status !== 'active') continue;
    if (r.periodStart > nowMs || (r.periodEnd !== null && r.periodEnd <= nowMs)) continue;
    if (!r.purposes.includes(purpose) && !r.purposes.includes('*')) continue;
    if (!r.categories.includes(category) && !r.categories.includes('*')) continue;
    if (!best || newer(r, best)) best = r;
  }
  if (best) {
    return {
      permit: best.decision === 'permit',
      by: best.id,
      why: `consent ${best.id} ${best.decision === 'permit' ? 'permits' : 'denies'} ${purpose} use of ${category}`,
    };
  }
  return purpose === 'treatment'
    ? { permit: true, by: undefined, why: 'no consent record; treatment is permitted by default' }
    : {
        permit: false,
        by: undefined,
        why: `no consent record permits ${purpose}; only treatment is permitted by default`,
      };
}
