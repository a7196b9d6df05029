/**
 * The packets the gateway sends back, built for the connection's protocol version, and the
 * mapping from Vigil's error catalogue to MQTT reason and return codes. MQTT 5 allows only
 * certain reason codes in each packet (§3.2.2.2 CONNACK, §3.4.2.1 PUBACK, §3.14.2.1
 * DISCONNECT); MQTT 3.1.1 has six CONNACK return codes (§3.2.2.3) and no reasons elsewhere.
 */
import type {
  IConnackPacket,
  IConnectPacket,
  IDisconnectPacket,
  IPubackPacket,
  ISubackPacket,
  IUnsubackPacket,
  Packet,
} from 'mqtt-packet';
import type { VigilError } from '../../errors/catalogue.ts';

export type ProtocolVersion = 4 | 5;

/** MQTT 5 reason codes used by the gateway (§2.4). */
export const Reason = {
  success: 0x00,
  grantedQos1: 0x01,
  noSubscriptionExisted: 0x11,
  unspecified: 0x80,
  malformedPacket: 0x81,
  protocolError: 0x82,
  unsupportedProtocolVersion: 0x84,
  clientIdNotValid: 0x85,
  notAuthorized: 0x87,
  serverUnavailable: 0x88,
  serverBusy: 0x89,
  serverShuttingDown: 0x8b,
  keepAliveTimeout: 0x8d,
  sessionTakenOver: 0x8e,
  topicAliasInvalid: 0x94,
  packetTooLarge: 0x95,
  retainNotSupported: 0x9a,
  qosNotSupported: 0x9b,
} as const;

/** MQTT 3.1.1 CONNACK return codes (§3.2.2.3) and the SUBACK failure code (§3.9.3). */
export const ReturnCode311 = {
  accepted: 0,
  unacceptableProtocolVersion: 1,
  identifierRejected: 2,
  serverUnavailable: 3,
  badCredentials: 4,
  notAuthorized: 5,
  subscribeFailure: 0x80,
} as const;

/** PUBACK may carry only these (MQTT 5 §3.4.2.1). */
const PUBACK_REASONS: ReadonlySet<number> = new Set([0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]);

/** The PUBACK reason for a refused publish; a catalogue code PUBACK cannot carry becomes 0x80. */
export function pubackReasonFor(err: VigilError): number {
  return PUBACK_REASONS.has(err.mqttReasonCode) ? err.mqttReasonCode : Reason.unspecified;
}

/** CONNACK reason for a refused CONNECT: storage or internal trouble is "server unavailable". */
export function connackReasonFor(err: VigilError): number {
  if (err.code === 'VIGIL_ERR_INGEST_STORE_FAILED' || err.code === 'VIGIL_ERR_INTERNAL') {
    return Reason.serverUnavailable;
  }
  return err.mqttReasonCode;
}

/** The 3.1.1 return code closest to an MQTT 5 CONNACK reason. */
export function returnCode311For(reason: number): number {
  switch (reason) {
    case Reason.unsupportedProtocolVersion:
      return ReturnCode311.unacceptableProtocolVersion;
    case Reason.clientIdNotValid:
      return ReturnCode311.identifierRejected;
    case Reason.serverUnavailable:
    case Reason.serverBusy:
      return ReturnCode311.serverUnavailable;
    case 0x86:
      return ReturnCode311.badCredentials;
    default:
      return ReturnCode311.notAuthorized;
  }
}

export function connackRefusal(
  version: ProtocolVersion,
  reason: number,
  reasonString: string,
): IConnackPacket {
  if (version === 5)
    return { cmd: 'connack', sessionPresent: false, reasonCode: reason, properties: { reasonString } };
  return { cmd: 'connack', sessionPresent: false, returnCode: returnCode311For(reason) };
}

export interface AcceptedSession {
  readonly deviceId: string;
  readonly keepaliveSeconds: number;
  readonly receiveMaximum: number;
  readonly maximumPacketBytes: number;
}

/**
 * A successful CONNACK. Sessions are always clean, so sessionPresent is false (§3.2.2.1.1).
 * MQTT 5 properties tell the device what this gateway does not do (§3.2.2.3): no QoS 2, no
 * retained messages, no wildcard, shared or identified subscriptions, and no topic aliases
 * (Topic Alias Maximum absent means 0).
 */
export function connackAccepted(
  version: ProtocolVersion,
  connect: IConnectPacket,
  session: AcceptedSession,
): IConnackPacket {
  if (version === 4) return { cmd: 'connack', sessionPresent: false, returnCode: ReturnCode311.accepted };
  const properties: NonNullable<IConnackPacket['properties']> = {
    receiveMaximum: session.receiveMaximum,
    maximumQoS: 1,
    retainAvailable: false,
    maximumPacketSize: session.maximumPacketBytes,
    wildcardSubscriptionAvailable: false,
    subscriptionIdentifiersAvailable: false,
    sharedSubscriptionAvailable: false,
  };
  // §3.2.2.3.7: a device that sent an empty client id learns the one it was given.
  if (connect.clientId === '') properties.assignedClientIdentifier = session.deviceId;
  // §3.2.2.3.14: the server may impose its own keepalive, and must say so.
  if (session.keepaliveSeconds !== connect.keepalive) properties.serverKeepAlive = session.keepaliveSeconds;
  // §3.2.2.3.2: a device asking for a persistent session learns it will not get one.
  if ((connect.properties?.sessionExpiryInterval ?? 0) > 0) properties.sessionExpiryInterval = 0;
  return { cmd: 'connack', sessionPresent: false, reasonCode: Reason.success, properties };
}

export function puback(
  version: ProtocolVersion,
  messageId: number,
  refusal?: { reason: number; reasonString: string },
): IPubackPacket {
  if (version === 5 && refusal !== undefined) {
    return {
      cmd: 'puback',
      messageId,
      reasonCode: refusal.reason,
      properties: { reasonString: refusal.reasonString },
    };
  }
  return version === 5
    ? { cmd: 'puback', messageId, reasonCode: Reason.success }
    : { cmd: 'puback', messageId };
}

/** @param granted per filter: the granted QoS, or undefined when refused */
export function suback(
  version: ProtocolVersion,
  messageId: number,
  granted: Array<0 | 1 | undefined>,
): ISubackPacket {
  const refused = version === 5 ? Reason.notAuthorized : ReturnCode311.subscribeFailure;
  return { cmd: 'suback', messageId, granted: granted.map((qos) => qos ?? refused) };
}

export function unsuback(version: ProtocolVersion, messageId: number, existed: boolean[]): IUnsubackPacket {
  if (version === 4) return { cmd: 'unsuback', messageId, granted: [] };
  return {
    cmd: 'unsuback',
    messageId,
    granted: existed.map((e) => (e ? Reason.success : Reason.noSubscriptionExisted)),
  };
}

/** The optional diagnostic properties of MQTT 5 packets (§3.1.2.11.7 "problem information"). */
interface ProblemInformation {
  readonly reasonString?: string;
  readonly userProperties?: unknown;
}

/**
 * `packet` without its Reason String and User Properties (the same object when it has none), for
 * a device that asked for no problem information or whose Maximum Packet Size they would exceed
 * ([MQTT-3.1.2-29], §3.4.2.2.2). Every other property is kept.
 */
export function withoutProblemInformation(packet: Packet): Packet {
  const properties =
    'properties' in packet ? (packet.properties as ProblemInformation | undefined) : undefined;
  if (properties?.reasonString === undefined && properties?.userProperties === undefined) return packet;
  const { reasonString: _reasonString, userProperties: _userProperties, ...kept } = properties;
  return { ...packet, properties: kept } as Packet;
}

/** Only MQTT 5 lets the server send DISCONNECT (§3.14); in 3.1.1 the server just closes. */
export function disconnectPacket(reason: number, reasonString?: string): IDisconnectPacket {
  return reasonString === undefined
    ? { cmd: 'disconnect', reasonCode: reason }
    : { cmd: 'disconnect', reasonCode: reason, properties: { reasonString } };
}
