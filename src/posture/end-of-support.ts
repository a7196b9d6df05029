/**
 * End-of-support status: warnings 180, 90 and 30 days ahead (time to budget, to order, to
 * act), and "legacy" once the manufacturer no longer supports the model (IMDRF N60 §5.3 calls
 * these legacy devices: they can no longer be reasonably protected and their risk rises).
 */
export type SupportState =
  | 'unknown'
  | 'supported'
  | 'ends-within-180-days'
  | 'ends-within-90-days'
  | 'ends-within-30-days'
  | 'legacy';

const DAY_MS = 86_400_000;

export interface SupportStatus {
  state: SupportState;
  daysLeft: number | null;
}

export function supportStatus(endOfSupportMs: number | null | undefined, nowMs: number): SupportStatus {
  if (endOfSupportMs === null || endOfSupportMs === undefined) return { state: 'unknown', daysLeft: null };
  const daysLeft = Math.ceil((endOfSupportMs - nowMs) / DAY_MS);
  if (daysLeft <= 0) return { state: 'legacy', daysLeft };
  if (daysLeft <= 30) return { state: 'ends-within-30-days', daysLeft };
  if (daysLeft <= 90) return { state: 'ends-within-90-days', daysLeft };
  if (daysLeft <= 180) return { state: 'ends-within-180-days', daysLeft };
  return { state: 'supported', daysLeft };
}
