/**
 * Terms of a session settled by CONNECT: the keepalive the gateway enforces and the limits the
 * device states for what it receives (MQTT 5 §3.1.2.10, §3.1.2.11).
 */
import type { IConnectPacket } from 'mqtt-packet';
import type { PeerLimits } from './command-channel.ts';

/** Receive Maximum a device has when it states none (MQTT 5 §3.1.2.11.3). */
const DEFAULT_PEER_RECEIVE_MAXIMUM = 0xffff;

/** The keepalive the gateway enforces: the device's, capped; 0 ("none") gets the cap (§3.1.2.10). */
export function effectiveKeepaliveSeconds(requestedSeconds: number, maxSeconds: number): number {
  return requestedSeconds === 0 || requestedSeconds > maxSeconds ? maxSeconds : requestedSeconds;
}

/** Limits an MQTT 5 device states in CONNECT (§3.1.2.11); a 3.1.1 device states none. */
export function peerLimitsFrom(connect: IConnectPacket): PeerLimits {
  return {
    receiveMaximum: connect.properties?.receiveMaximum ?? DEFAULT_PEER_RECEIVE_MAXIMUM,
    maximumPacketBytes: connect.properties?.maximumPacketSize,
  };
}
