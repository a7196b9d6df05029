import type { LastMessage } from '../ingest/replay-guard.ts';
import type { Assignment, DeviceStore } from './devices.store.ts';

interface DeviceState {
  status: string;
  last: LastMessage | undefined;
  assignments: Assignment[];
}

/**
 * What the ingest hot path asks about devices, answered from memory: status, last stored
 * message, who wore the device when, and which certificates are revoked. Rebuilt from the
 * store at start and whenever the store changes (another process may quarantine or revoke).
 */
export class DeviceDirectory {
  private devices = new Map<string, DeviceState>();
  private revoked = new Set<string>();
  /** seq -> payload hash of each device's recent messages, to recognise redeliveries. */
  private readonly recent = new Map<string, Map<number, string>>();
  private static readonly RECENT_PER_DEVICE = 512;
  private known = new Map<string, string>();

  constructor(private readonly store: DeviceStore) {}

  /** Reloads from the store; returns the devices that became quarantined or lost a certificate. */
  async refresh(): Promise<{ cutOff: string[] }> {
    const snap = await this.store.snapshot();
    const next = new Map<string, DeviceState>();
    for (const d of snap.devices) {
      const mine = this.devices.get(d.id)?.last;
      const stored =
        d.lastSeq === null || d.lastHash === null ? undefined : { seq: d.lastSeq, hash: d.lastHash };
      // Memory may be ahead of the store by commits in flight; never move backwards.
      const last = mine && (!stored || mine.seq >= stored.seq) ? mine : stored;
      next.set(d.id, { status: d.status, last, assignments: [] });
    }
    for (const a of snap.assignments) next.get(a.deviceId)?.assignments.push(a);
    const revoked = new Set<string>();
    const known = new Map<string, string>();
    for (const c of snap.certificates) {
      known.set(c.serial, c.deviceId);
      if (c.revoked) revoked.add(c.serial);
    }
    const cutOff: string[] = [];
    for (const [id, state] of next) {
      const before = this.devices.get(id);
      if (state.status === 'quarantined' && before && before.status !== 'quarantined') cutOff.push(id);
    }
    for (const serial of revoked) {
      const deviceId = known.get(serial);
      if (!this.revoked.has(serial) && deviceId && this.known.has(serial)) cutOff.push(deviceId);
    }
    this.devices = next;
    this.revoked = revoked;
    this.known = known;
    return { cutOff: [...new Set(cutOff)] };
  }

  has(deviceId: string): boolean {
    return this.devices.has(deviceId);
  }

  isQuarantined(deviceId: string): boolean {
    return this.devices.get(deviceId)?.status === 'quarantined';
  }

  /** A certificate is usable only if Vigil issued it to this device and it is not revoked. */
  certificateStanding(serial: string, deviceId: string): 'valid' | 'revoked' | 'unknown' {
    if (this.known.get(serial) !== deviceId) return 'unknown';
    return this.revoked.has(serial) ? 'revoked' : 'valid';
  }

  lastMessage(deviceId: string): LastMessage | undefined {
    return this.devices.get(deviceId)?.last;
  }

  noteAccepted(deviceId: string, last: LastMessage): void {
    const state = this.devices.get(deviceId);
    if (state) state.last = last;
    this.remember(deviceId, last);
  }

  /** Remembers a stored message (also at start-up, from the rows not yet sealed into chunks). */
  remember(deviceId: string, m: LastMessage): void {
    let window = this.recent.get(deviceId);
    if (!window) {
      window = new Map();
      this.recent.set(deviceId, window);
    }
    window.set(m.seq, m.hash);
    if (window.size > DeviceDirectory.RECENT_PER_DEVICE) {
      const oldest = window.keys().next().value;
      if (oldest !== undefined) window.delete(oldest);
    }
  }

  /** Drops a message from the recent window (its commit failed), if it is still the one remembered. */
  forget(deviceId: string, seq: number, hash: string): void {
    const window = this.recent.get(deviceId);
    if (window?.get(seq) === hash) window.delete(seq);
  }

  recentHash(deviceId: string, seq: number): string | undefined {
    return this.recent.get(deviceId)?.get(seq);
  }

  /** Overrides memory with what the store holds (after a failed commit). */
  setLast(deviceId: string, last: LastMessage | undefined): void {
    const state = this.devices.get(deviceId);
    if (state) state.last = last;
  }

  /** The patient who wore the device at tsMs, if any. */
  patientAt(deviceId: string, tsMs: number): string | undefined {
    const list = this.devices.get(deviceId)?.assignments;
    if (!list) return undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const a = list[i]!;
      if (a.fromMs <= tsMs && (a.toMs === null || tsMs < a.toMs)) return a.patientId;
    }
    return undefined;
  }

  /** Local changes made by this process (assign, quarantine) are applied via refresh. */
  /** Devices worn by someone at `tsMs`, and by whom (from memory, as of the last refresh). */
  assignedAt(tsMs: number): Array<{ deviceId: string; patientId: string }> {
    const out: Array<{ deviceId: string; patientId: string }> = [];
    for (const deviceId of this.devices.keys()) {
      const patientId = this.patientAt(deviceId, tsMs);
      if (patientId !== undefined) out.push({ deviceId, patientId });
    }
    return out;
  }

  setStatus(deviceId: string, status: string): void {
    const state = this.devices.get(deviceId);
    if (state) state.status = status;
  }
}
