import type { AcceptedMessage } from '../clinical/observations.store.ts';
import type { Reading } from '../clinical/readings-codec.ts';
import type { KeyRing } from '../crypto/key-ring.ts';
import type { DeviceDirectory } from '../devices/device-directory.ts';
import { VigilError } from '../errors/catalogue.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { GroupCommitter } from '../store/group-commit.ts';
import { classifySeq, type LastMessage } from './replay-guard.ts';
import { decodeTelemetry } from './telemetry-decoder.ts';
import type { CodeRegistry } from './vital-codes.ts';

export interface IngestLimits {
  maxPayloadBytes: number;
  maxFutureMs: number;
  maxPastMs: number;
}

export type IngestOutcome = { stored: number } | { duplicate: true };

export interface IngestDeps {
  registry: CodeRegistry;
  directory: DeviceDirectory;
  keys: KeyRing;
  committer: GroupCommitter<AcceptedMessage>;
  metrics: Metrics;
  limits: IngestLimits;
  /** A message's keyed fingerprint (message-fingerprint.ts), for redelivery and replay. */
  fingerprint(payload: Buffer): string;
  /** The last message the store holds for a device: the truth after a failed commit. */
  lastStored(deviceId: string): LastMessage | undefined;
  /** Notified after a message is durably stored (clinical rules, live stream). */
  onStored?(message: AcceptedMessage): void;
}

/**
 * The ingest pipeline, one straight line of small steps: quarantine check -> decode (size,
 * JSON, shape, codes, units, plausibility, clock) -> replay -> attribute each reading to the
 * patient who wore the device then -> seal and group-commit. It resolves only after the
 * commit, so the transport can acknowledge durably. Refusals throw VigilError.
 */
/** A message handed to the committer and not yet settled. */
interface Pending {
  hash: string;
  commit: Promise<void>;
}

export class IngestPipeline {
  /**
   * Per device, seq -> the commit of each message still in flight: a redelivery waits for its
   * own original, and is acknowledged only if that was stored.
   */
  private readonly pending = new Map<string, Map<number, Pending>>();

  constructor(private readonly deps: IngestDeps) {}

  async accept(
    deviceId: string,
    payload: Buffer,
    transport: 'mqtt' | 'http',
    nowMs = Date.now(),
  ): Promise<IngestOutcome> {
    const { directory, metrics } = this.deps;
    if (!directory.has(deviceId)) {
      throw new VigilError('VIGIL_ERR_DEVICE_UNKNOWN', `device ${deviceId} is not registered`);
    }
    if (directory.isQuarantined(deviceId)) {
      throw new VigilError(
        'VIGIL_ERR_DEVICE_QUARANTINED',
        `device ${deviceId} is quarantined; its readings are refused`,
      );
    }
    const decoded = decodeTelemetry(payload, this.deps.registry, {
      nowMs,
      maxFutureMs: this.deps.limits.maxFutureMs,
      maxPastMs: this.deps.limits.maxPastMs,
      maxBytes: this.deps.limits.maxPayloadBytes,
    });
    const hash = this.deps.fingerprint(payload);
    const verdict = classifySeq(
      directory.lastMessage(deviceId),
      decoded.seq,
      hash,
      directory.recentHash(deviceId, decoded.seq),
    );
    if (verdict === 'replay') {
      const last = directory.lastMessage(deviceId);
      throw new VigilError(
        'VIGIL_ERR_INGEST_REPLAY',
        `seq ${decoded.seq} is not above the last stored seq ${last?.seq ?? 'none'} of device ${deviceId}`,
      );
    }
    if (verdict === 'duplicate') {
      const original = this.pending.get(deviceId)?.get(decoded.seq);
      if (original) {
        try {
          await original.commit;
        } catch (cause) {
          // The device must keep this message and send it again: it was not stored.
          throw storeFailed(cause);
        }
      }
      metrics.duplicates.inc();
      return { duplicate: true };
    }
    const parts = this.attribute(deviceId, decoded.readings);
    for (const part of parts) {
      if (!this.deps.keys.cachedDataKey('patient', part.patientId))
        await this.deps.keys.dataKey('patient', part.patientId);
    }
    // Claim the seq before awaiting the commit: a later message with a lower seq is now a replay.
    directory.noteAccepted(deviceId, { seq: decoded.seq, hash });
    const message: AcceptedMessage = { deviceId, seq: decoded.seq, hash, receivedMs: nowMs, parts };
    const submitted = performance.now();
    const commit = this.deps.committer.submit(message);
    let inFlight = this.pending.get(deviceId);
    if (!inFlight) {
      inFlight = new Map();
      this.pending.set(deviceId, inFlight);
    }
    inFlight.set(decoded.seq, { hash, commit });
    try {
      await commit;
    } catch (cause) {
      // Give the seq back: the device will resend this message and it must be stored then, not
      // be recognised as a redelivery of something that never reached the disk.
      directory.forget(deviceId, decoded.seq, hash);
      directory.setLast(deviceId, this.lastAfterFailure(deviceId, decoded.seq, inFlight));
      throw storeFailed(cause);
    } finally {
      inFlight.delete(decoded.seq);
      if (inFlight.size === 0) this.pending.delete(deviceId);
    }
    metrics.commitWaitSeconds.observe((performance.now() - submitted) / 1000);
    metrics.messagesAccepted.inc({ transport });
    metrics.readingsAccepted.inc(decoded.readings.length);
    this.deps.onStored?.(message);
    return { stored: decoded.readings.length };
  }

  /**
   * What the store holds last, unless a later message of the device is still in flight: its seq
   * stays claimed, or a different message could take that seq while it commits.
   */
  private lastAfterFailure(deviceId: string, failedSeq: number, inFlight: Map<number, Pending>) {
    let newest: LastMessage | undefined = this.deps.lastStored(deviceId);
    for (const [seq, p] of inFlight) {
      if (seq !== failedSeq && (newest === undefined || seq > newest.seq)) newest = { seq, hash: p.hash };
    }
    return newest;
  }

  private attribute(deviceId: string, readings: Reading[]): AcceptedMessage['parts'] {
    const byPatient = new Map<string, Reading[]>();
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i]!;
      const patientId = this.deps.directory.patientAt(deviceId, r.tsMs);
      if (patientId === undefined) {
        // The reading's time is patient data (timestamps.ts): the detail names its place instead.
        throw new VigilError(
          'VIGIL_ERR_INGEST_NO_PATIENT',
          `device ${deviceId} was assigned to no patient when readings[${i}] was taken; assign it with "vigil device assign" from before that reading`,
        );
      }
      let list = byPatient.get(patientId);
      if (!list) {
        list = [];
        byPatient.set(patientId, list);
      }
      list.push({ code: r.code, value: r.value, tsMs: r.tsMs });
    }
    return [...byPatient].map(([patientId, rs]) => ({ patientId, readings: rs }));
  }
}

function storeFailed(cause: unknown): VigilError {
  return new VigilError('VIGIL_ERR_INGEST_STORE_FAILED', 'the readings could not be committed; retry later', {
    cause,
  });
}
