/**
 * What the per-session parts (inbound publishes, command channel) may do with the connection
 * that owns them, once the device is identified. Kept narrow so each part is testable alone.
 */
import type { Packet } from 'mqtt-packet';
import type { Logger } from 'pino';
import type { ErrorCode } from '../../errors/catalogue.ts';
import type { DeviceId } from '../../errors/ids.ts';
import type { ProtocolVersion } from './reply-packets.ts';

export interface SessionLink {
  readonly deviceId: DeviceId;
  readonly version: ProtocolVersion;
  readonly log: Logger;
  /** Writes a packet; false when the connection is closed or the packet cannot be encoded. */
  send(packet: Packet): boolean;
  /** Reports a refusal to the security hook and the log. */
  refuse(code: ErrorCode, detail: string): void;
  /**
   * Counts a publish or subscription refused by the topic ACL, after its refusal was reported
   * and answered; enough of them in one session close the connection (DISCONNECT 0x87).
   */
  noteTopicDenied(): void;
  /** Closes the connection; an MQTT 5 device is first sent DISCONNECT with `reason`. */
  end(why: string, reason?: number, reasonString?: string): void;
}
