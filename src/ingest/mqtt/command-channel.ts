/**
 * The one subscription a device may hold, `v1/devices/{id}/commands`, and the commands Vigil
 * sends down it. Sessions are clean, so the subscription and any unacknowledged command end
 * with the connection; a command that matters is sent again by its owner after reconnect.
 */
import type { IPublishPacket, ISubscribePacket, IUnsubscribePacket } from 'mqtt-packet';
import { Reason, suback, unsuback } from './reply-packets.ts';
import type { SessionLink } from './session-link.ts';
import { checkSubscribe, commandsTopic } from './topic-acl.ts';

/** What the device said about itself in CONNECT (MQTT 5 §3.1.2.11); 3.1.1 devices say nothing. */
export interface PeerLimits {
  /** Unacknowledged QoS 1 commands the device accepts at once (§3.1.2.11.3, default 65,535). */
  readonly receiveMaximum: number;
  /** Largest packet the device accepts, in bytes (§3.1.2.11.4); undefined = no limit. */
  readonly maximumPacketBytes: number | undefined;
}

const MAX_MESSAGE_ID = 0xffff;

export class CommandChannel {
  readonly topic: string;
  private grantedQos: 0 | 1 | undefined;
  private readonly awaitingAck = new Set<number>();
  private nextMessageId = 1;

  constructor(
    private readonly link: SessionLink,
    private readonly peer: PeerLimits,
  ) {
    this.topic = commandsTopic(link.deviceId);
  }

  get isSubscribed(): boolean {
    return this.grantedQos !== undefined;
  }

  onSubscribe(packet: ISubscribePacket): void {
    // [MQTT-3.8.3-3]: a SUBSCRIBE names at least one filter; one with none is a protocol violation.
    if (packet.subscriptions.length === 0) {
      this.endForNoFilter('SUBSCRIBE');
      return;
    }
    let denied = 0;
    const granted = packet.subscriptions.map((subscription) => {
      const decision = checkSubscribe(this.link.deviceId, subscription.topic);
      if (!decision.allowed) {
        this.link.refuse(decision.code, decision.detail);
        denied += 1;
        return undefined;
      }
      // Maximum QoS is 1 (CONNACK, §3.2.2.3.4): a QoS 2 request is granted QoS 1 (§3.8.4).
      const qos: 0 | 1 = subscription.qos === 0 ? 0 : 1;
      this.grantedQos = qos;
      return qos;
    });
    this.link.send(suback(this.link.version, packet.messageId ?? 0, granted));
    for (let i = 0; i < denied; i++) this.link.noteTopicDenied();
  }

  onUnsubscribe(packet: IUnsubscribePacket): void {
    // [MQTT-3.10.3-2]: the same rule holds for UNSUBSCRIBE.
    if (packet.unsubscriptions.length === 0) {
      this.endForNoFilter('UNSUBSCRIBE');
      return;
    }
    const existed = packet.unsubscriptions.map((filter) => {
      if (filter !== this.topic || this.grantedQos === undefined) return false;
      this.grantedQos = undefined;
      return true;
    });
    this.link.send(unsuback(this.link.version, packet.messageId ?? 0, existed));
  }

  private endForNoFilter(cmd: 'SUBSCRIBE' | 'UNSUBSCRIBE'): void {
    this.link.refuse(
      'VIGIL_ERR_MQTT_PROTOCOL',
      `device ${this.link.deviceId} sent ${cmd} with no topic filter`,
    );
    this.link.end(`${cmd} with no topic filter`, Reason.protocolError, 'VIGIL_ERR_MQTT_PROTOCOL');
  }

  /** A PUBACK from the device for a QoS 1 command. */
  onPuback(messageId: number | undefined, reasonCode: number | undefined): void {
    if (messageId === undefined || !this.awaitingAck.delete(messageId)) {
      this.link.log.debug({ messageId }, 'PUBACK for no command in flight ignored');
      return;
    }
    if (reasonCode !== undefined && reasonCode >= 0x80) {
      this.link.log.warn({ messageId, reasonCode }, 'device refused a command');
    }
  }

  /** Sends a command if the device is subscribed and can take it now; false otherwise. */
  publish(payload: Buffer): boolean {
    const qos = this.grantedQos;
    if (qos === undefined) return false;
    // §4.9: never more unacknowledged QoS 1 publishes than the device's Receive Maximum.
    if (qos === 1 && this.awaitingAck.size >= this.peer.receiveMaximum) return false;
    const packet: IPublishPacket = {
      cmd: 'publish',
      topic: this.topic,
      payload,
      qos,
      retain: false,
      dup: false,
    };
    // §3.1.2.11.4: a packet over the device's Maximum Packet Size must not be sent at all.
    const max = this.peer.maximumPacketBytes;
    if (max !== undefined && publishPacketBytes(this.topic, payload.length, qos, this.link.version) > max)
      return false;
    if (qos === 0) return this.link.send(packet);
    const messageId = this.allocateMessageId();
    packet.messageId = messageId;
    this.awaitingAck.add(messageId);
    if (this.link.send(packet)) return true;
    this.awaitingAck.delete(messageId);
    return false;
  }

  private allocateMessageId(): number {
    // Terminates: at most receiveMaximum (< 65,535) ids are taken at once.
    while (this.awaitingAck.has(this.nextMessageId)) this.advanceMessageId();
    const id = this.nextMessageId;
    this.advanceMessageId();
    return id;
  }

  private advanceMessageId(): void {
    this.nextMessageId = this.nextMessageId >= MAX_MESSAGE_ID ? 1 : this.nextMessageId + 1;
  }
}

/** Exact size of a PUBLISH with no properties (MQTT 5 §3.3.1-§3.3.3). */
export function publishPacketBytes(topic: string, payloadBytes: number, qos: 0 | 1, version: 4 | 5): number {
  const remaining = 2 + Buffer.byteLength(topic) + (qos > 0 ? 2 : 0) + (version === 5 ? 1 : 0) + payloadBytes;
  let lengthBytes = 1;
  while (lengthBytes < 4 && remaining >= 0x80 ** lengthBytes) lengthBytes += 1;
  return 1 + lengthBytes + remaining;
}
