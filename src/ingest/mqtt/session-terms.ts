/**
 * Terms of a session settled by CONNECT: the keepalive the gateway enforces and the limits the
 * device states for what it receives (MQTT 5 §3.1.2.10, §3.1.2.11).
 */
import type { IConnectPacket } from 'mqtt-packet';
import { VigilError } from '../../errors/catalogue.ts';
import type { PeerLimits } from './command-channel.ts';
import { Reason } from './reply-packets.ts';

/** Receive Maximum a device has when it states none (MQTT 5 §3.1.2.11.3). */
const DEFAULT_PEER_RECEIVE_MAXIMUM = 0xffff;

/** The keepalive the gateway enforces: the device's, capped; 0 ("none") gets the cap (§3.1.2.10). */
export function effectiveKeepaliveSeconds(requestedSeconds: number, maxSeconds: number): number {
  return requestedSeconds === 0 || requestedSeconds > maxSeconds ? maxSeconds : requestedSeconds;
}

/**
 * Why an MQTT 5 CONNECT must be refused for its will, with the CONNACK reason; undefined when
 * the will is acceptable. CONNACK promises Maximum QoS 1 and no retain, so a will asking for
 * either is refused ([MQTT-3.2.2-12], [MQTT-3.2.2-13]). Other wills are accepted and never
 * published: no other client could receive them. MQTT 3.1.1 has no reason codes for this, so
 * its wills are accepted and ignored whatever they ask for.
 */
export function willRefusal(connect: IConnectPacket): { error: VigilError; reason: number } | undefined {
  const will = connect.will;
  if (connect.protocolVersion !== 5 || will === undefined) return undefined;
  if (will.qos === 2) {
    const detail = 'the will asks for QoS 2; the gateway offers QoS 0 and 1';
    return { error: new VigilError('VIGIL_ERR_MQTT_QOS2', detail), reason: Reason.qosNotSupported };
  }
  if (will.retain) {
    const detail = 'the will asks to be retained; the gateway keeps no retained messages';
    return { error: new VigilError('VIGIL_ERR_MQTT_UNSUPPORTED', detail), reason: Reason.retainNotSupported };
  }
  return undefined;
}

/** Limits an MQTT 5 device states in CONNECT (§3.1.2.11); a 3.1.1 device states none. */
export function peerLimitsFrom(connect: IConnectPacket): PeerLimits {
  return {
    receiveMaximum: connect.properties?.receiveMaximum ?? DEFAULT_PEER_RECEIVE_MAXIMUM,
    maximumPacketBytes: connect.properties?.maximumPacketSize,
  };
}

/**
 * Whether the device wants Reason Strings and User Properties (§3.1.2.11.7, default yes); one
 * that does not still gets them on CONNACK and DISCONNECT [MQTT-3.1.2-29].
 */
export function wantsProblemInformation(connect: IConnectPacket): boolean {
  return connect.properties?.requestProblemInformation ?? true;
}
