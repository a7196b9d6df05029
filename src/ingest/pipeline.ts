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
export class IngestPipeline {
  /** The commit a device's newest message waits on, so a redelivery is acked only once it is stored. */
  private readonly inFlight = new Map<string, Promise<void>>();

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
      await this.inFlight.get(deviceId);
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
    this.inFlight.set(
      deviceId,
      commit.catch(() => {}),
    );
    try {
      await commit;
    } catch (cause) {
      // Give the seq back: the device will resend this message and it must be stored then.
      directory.setLast(deviceId, this.deps.lastStored(deviceId));
      throw new VigilError(
        'VIGIL_ERR_INGEST_STORE_FAILED',
        'the readings could not be committed; retry later',
        { cause },
      );
    }
    metrics.commitWaitSeconds.observe((performance.now() - submitted) / 1000);
    metrics.messagesAccepted.inc({ transport });
    metrics.readingsAccepted.inc(decoded.readings.length);
    this.deps.onStored?.(message);
    return { stored: decoded.readings.length };
  }

  private attribute(deviceId: string, readings: Reading[]): AcceptedMessage['parts'] {
    const byPatient = new Map<string, Reading[]>();
    for (const r of readings) {
      const patientId = this.deps.directory.patientAt(deviceId, r.tsMs);
      if (patientId === undefined) {
        throw new VigilError(
          'VIGIL_ERR_INGEST_NO_PATIENT',
          `device ${deviceId} was assigned to no patient at ${new Date(r.tsMs).toISOString()}; assign it with "vigil device assign"`,
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
