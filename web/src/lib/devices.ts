import type { Device } from '../api/types.ts';
import type { Tone } from '../components/StatusChip.tsx';
import { dayOf } from './time.ts';

/** A device not heard from for this long is shown as offline. */
export const OFFLINE_AFTER_MS = 5 * 60_000;
/** A certificate ending within this window is flagged so it is renewed in time. */
export const CERT_WARNING_MS = 14 * 86_400_000;

export function deviceStatus(d: Device, nowMs = Date.now()): { tone: Tone; label: string } {
  if (d.status === 'quarantined') return { tone: 'danger', label: 'Quarantined' };
  if (d.status === 'revoked') return { tone: 'danger', label: 'Revoked' };
  if (!d.enrolled) return { tone: 'info', label: 'Not enrolled' };
  if (d.lastSeen === null || nowMs - Date.parse(d.lastSeen) > OFFLINE_AFTER_MS)
    return { tone: 'muted', label: 'Offline' };
  return { tone: 'ok', label: 'Online' };
}

export function certificateStatus(d: Device, nowMs = Date.now()): { tone: Tone; label: string } | null {
  if (d.certificateExpires === null) return null;
  const left = Date.parse(d.certificateExpires) - nowMs;
  const day = dayOf(d.certificateExpires);
  if (left <= 0) return { tone: 'danger', label: `expired ${day}` };
  if (left < CERT_WARNING_MS) return { tone: 'warning', label: `ends ${day}` };
  return { tone: 'ok', label: day };
}
