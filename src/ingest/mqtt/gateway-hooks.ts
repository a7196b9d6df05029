/**
 * The gateway's seam to the rest of Vigil: who a device is, where its messages go, and where
 * refusals are counted. The gateway itself decides nothing about devices or readings.
 */
import type { TLSSocket } from 'node:tls';
import type { ErrorCode } from '../../errors/catalogue.ts';
import type { DeviceId } from '../../errors/ids.ts';

export interface RefusalEvent {
  deviceId?: DeviceId;
  code: ErrorCode;
  detail: string;
  remoteAddress?: string;
}

export interface GatewayHooks {
  /** After the TLS handshake (client cert already verified against the CA by TLS). Returns the device id or throws VigilError (e.g. revoked, quarantined, unknown). */
  identify(socket: TLSSocket): Promise<DeviceId>;
  /** Resolves only after the readings are committed to disk; throws VigilError for a refusal. */
  onTelemetry(deviceId: DeviceId, payload: Buffer): Promise<void>;
  onStatus(deviceId: DeviceId, payload: Buffer): Promise<void>;
  /** Every refused connection, publish and subscribe. */
  onRefusal(event: RefusalEvent): void;
  onConnect?(deviceId: DeviceId, protocolVersion: number): void;
  onDisconnect?(deviceId: DeviceId): void;
}
