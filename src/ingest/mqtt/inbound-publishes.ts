/**
 * PUBLISH from a device: topic ACL, size limit, hand-off to the ingest hooks, and the
 * acknowledgement. PUBACK waits for the commit: a device deletes a reading once acked.
 *
 * Publishes are processed concurrently (the store batches many messages per commit, so waiting
 * for one PUBACK before reading the next PUBLISH would cap a device at one message per commit);
 * MQTT lets QoS 1 acknowledgements go out in any order (MQTT 5 §4.6). Once `receiveMaximum`
 * publishes are being processed the connection stops reading and holds packets already read
 * until one settles, so never more are in flight: the store's redelivery window after a restart
 * is sized for that many committed-but-unacknowledged readings per device.
 *
 * A device over the advertised Receive Maximum is slowed down, not disconnected with 0x93
 * (§3.3.4): mqtt.js, which the simulator and many integrations use, ignores the server's
 * Receive Maximum, and dropping it would only make it reconnect and resend the same burst.
 * MQTT 3.1.1 has no Receive Maximum at all, so the same throttle is its only limit.
 */
import type { IPublishPacket } from 'mqtt-packet';
import { ERRORS, isVigilError, VigilError } from '../../errors/catalogue.ts';
import type { CommandChannel } from './command-channel.ts';
import type { GatewayHooks } from './gateway-hooks.ts';
import { puback, pubackReasonFor, Reason } from './reply-packets.ts';
import type { SessionLink } from './session-link.ts';
import { type AclRefusal, checkPublish, type PublishChannel } from './topic-acl.ts';

export interface InboundLimits {
  readonly maxPayloadBytes: number;
  /** Receive Maximum advertised in CONNACK (MQTT 5 §3.2.2.3.3). */
  readonly receiveMaximum: number;
}

/** Lets the publish handler apply back-pressure to the socket it reads from. */
export interface ReadFlow {
  pauseReading(): void;
  resumeReading(): void;
}

export class InboundPublishes {
  private processing = 0;

  constructor(
    private readonly link: SessionLink,
    private readonly hooks: Pick<GatewayHooks, 'onTelemetry' | 'onStatus'>,
    private readonly commands: CommandChannel,
    private readonly flow: ReadFlow,
    private readonly limits: InboundLimits,
  ) {}

  /** Publishes handed to the hooks and not yet settled. */
  get inProgress(): number {
    return this.processing;
  }

  onPublish(packet: IPublishPacket): void {
    const { link } = this;
    if (packet.qos === 2) {
      // §3.2.2.3.4: Maximum QoS is 1, so a QoS 2 PUBLISH is answered with DISCONNECT 0x9B.
      link.refuse('VIGIL_ERR_MQTT_QOS2', `device ${link.deviceId} published at QoS 2`);
      link.end('QoS 2 publish', Reason.qosNotSupported, 'VIGIL_ERR_MQTT_QOS2');
      return;
    }
    if (packet.retain && link.version === 5) {
      // §3.3.1.3: Retain Available is 0 in CONNACK, so a retained PUBLISH gets DISCONNECT 0x9A.
      // MQTT 3.1.1 cannot be told; its retain flag is ignored (no other client could read it).
      link.refuse(
        'VIGIL_ERR_MQTT_UNSUPPORTED',
        `device ${link.deviceId} published with RETAIN, which is not offered`,
      );
      link.end('retained publish', Reason.retainNotSupported, 'VIGIL_ERR_MQTT_UNSUPPORTED');
      return;
    }
    if (packet.properties?.topicAlias !== undefined) {
      // §3.3.2.3.4: Topic Alias Maximum is 0 here, so any alias is a protocol error (0x94).
      link.refuse(
        'VIGIL_ERR_MQTT_BAD_TOPIC',
        `device ${link.deviceId} used a topic alias, which is not offered`,
      );
      link.end('topic alias used', Reason.topicAliasInvalid, 'VIGIL_ERR_MQTT_BAD_TOPIC');
      return;
    }
    const decision = checkPublish(link.deviceId, packet.topic);
    if (!decision.allowed) {
      this.refuseTopic(packet, decision);
      return;
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    if (payload.length > this.limits.maxPayloadBytes) {
      const detail = `payload of ${payload.length} bytes is over the ${this.limits.maxPayloadBytes}-byte limit`;
      this.refusePayload(packet, payload, new VigilError('VIGIL_ERR_INGEST_TOO_LARGE', detail));
      return;
    }
    this.processing += 1;
    if (this.processing >= this.limits.receiveMaximum) this.flow.pauseReading();
    void this.process(packet, decision.channel, payload);
  }

  private async process(packet: IPublishPacket, channel: PublishChannel, payload: Buffer): Promise<void> {
    try {
      if (channel === 'telemetry') await this.hooks.onTelemetry(this.link.deviceId, payload);
      else await this.hooks.onStatus(this.link.deviceId, payload);
      if (packet.qos === 1) this.link.send(puback(this.link.version, packet.messageId ?? 0));
    } catch (err) {
      this.onHookFailure(packet, channel, payload, err);
    } finally {
      this.processing -= 1;
      if (this.processing < this.limits.receiveMaximum) this.flow.resumeReading();
    }
  }

  private onHookFailure(
    packet: IPublishPacket,
    channel: PublishChannel,
    payload: Buffer,
    err: unknown,
  ): void {
    if (isVigilError(err) && err.code !== 'VIGIL_ERR_INGEST_STORE_FAILED') {
      this.refusePayload(packet, payload, err);
      return;
    }
    const code = isVigilError(err) ? err.code : 'VIGIL_ERR_INTERNAL';
    // Only the error's name: messages of foreign errors (a JSON SyntaxError, say) quote the payload.
    const errorName = err instanceof Error ? err.name : typeof err;
    this.link.log.error(
      { code, errorName, channel, bytes: payload.length, qos: packet.qos },
      'publish was not stored',
    );
    if (packet.qos === 0) return; // at most once: the device asked for no guarantee
    // No PUBACK: the device keeps the message and sends it again after reconnecting (§4.4).
    const reason = code === 'VIGIL_ERR_INGEST_STORE_FAILED' ? Reason.serverBusy : Reason.unspecified;
    this.link.end('publish was not stored; the device will resend it', reason, code);
  }

  private refuseTopic(packet: IPublishPacket, decision: AclRefusal): void {
    this.link.refuse(decision.code, decision.detail);
    if (this.link.version === 4) {
      // 3.1.1 cannot say why a publish was refused; closing is its only signal (as AWS IoT does).
      this.link.end('publish outside the device topics');
      return;
    }
    if (packet.qos === 1) {
      const reason = ERRORS[decision.code].mqtt;
      this.link.send(puback(5, packet.messageId ?? 0, { reason, reasonString: decision.code }));
    }
    this.link.noteTopicDenied();
  }

  /** A message Vigil will never accept: acknowledge it as refused so the device stops sending it. */
  private refusePayload(packet: IPublishPacket, payload: Buffer, err: VigilError): void {
    this.link.refuse(err.code, err.detail);
    const messageId = packet.messageId ?? 0;
    if (this.link.version === 5) {
      // §3.4.2.1: a PUBACK reason code >= 0x80 tells the device the message was not accepted.
      if (packet.qos === 1)
        this.link.send(puback(5, messageId, { reason: pubackReasonFor(err), reasonString: err.code }));
      return;
    }
    // 3.1.1 has no refusal PUBACK. Acknowledge anyway, or the device resends a poison message
    // forever, and tell it why on its commands topic if it listens there.
    if (packet.qos === 1) this.link.send(puback(4, messageId));
    const seq = err.code === 'VIGIL_ERR_INGEST_TOO_LARGE' ? null : readSeq(payload);
    this.commands.publish(Buffer.from(JSON.stringify({ type: 'refused', seq, code: err.code })));
  }
}

/** The payload's `seq`, if it is JSON with an integer seq; only used to label a refusal. */
export function readSeq(payload: Buffer): number | null {
  try {
    const parsed: unknown = JSON.parse(payload.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || !('seq' in parsed)) return null;
    return Number.isSafeInteger(parsed.seq) ? (parsed.seq as number) : null;
  } catch {
    return null;
  }
}
