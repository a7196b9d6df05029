/**
 * Test support only: a fake SessionLink that records what the session parts asked of their
 * connection, and a pino logger whose lines can be inspected.
 */
import type { Packet } from 'mqtt-packet';
import pino, { type Logger } from 'pino';
import type { ErrorCode } from '../../errors/catalogue.ts';
import { asDeviceId, type DeviceId } from '../../errors/ids.ts';
import type { ProtocolVersion } from './reply-packets.ts';
import type { SessionLink } from './session-link.ts';

export class FakeSessionLink implements SessionLink {
  readonly deviceId: DeviceId;
  readonly log: Logger;
  readonly logLines: string[] = [];
  readonly sent: Packet[] = [];
  readonly refusals: Array<{ code: ErrorCode; detail: string }> = [];
  readonly ended: Array<{ why: string; reason: number | undefined; reasonString: string | undefined }> = [];
  topicDenials = 0;

  constructor(
    readonly version: ProtocolVersion,
    deviceId = 'dev-1',
  ) {
    this.deviceId = asDeviceId(deviceId);
    this.log = pino({ level: 'trace' }, { write: (line: string) => void this.logLines.push(line) });
  }

  send(packet: Packet): boolean {
    if (this.ended.length > 0) return false;
    this.sent.push(packet);
    return true;
  }

  refuse(code: ErrorCode, detail: string): void {
    this.refusals.push({ code, detail });
  }

  noteTopicDenied(): void {
    this.topicDenials += 1;
  }

  end(why: string, reason?: number, reasonString?: string): void {
    this.ended.push({ why, reason, reasonString });
  }

  sentOf<C extends Packet['cmd']>(cmd: C): Array<Extract<Packet, { cmd: C }>> {
    return this.sent.filter((p): p is Extract<Packet, { cmd: C }> => p.cmd === cmd);
  }
}
