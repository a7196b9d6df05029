/**
 * Topic ACL of the device gateway (DESIGN.md, "Device protocol"): a device publishes only to
 * `v1/devices/{id}/telemetry` and `v1/devices/{id}/status` and subscribes only to
 * `v1/devices/{id}/commands`, where `{id}` is the certificate's device id, spelled exactly.
 * Wildcards are never granted: a filter such as `v1/devices/+/commands` would let one device
 * read another's commands (MQTT 5 §4.7 would otherwise match it).
 *
 * Pure functions, so the rule is property-tested on its own and the gateway only asks.
 */
import type { ErrorCode } from '../../errors/catalogue.ts';
import { type DeviceId, isValidId } from '../../errors/ids.ts';

export type PublishChannel = 'telemetry' | 'status';

type AclRefusalCode = Extract<ErrorCode, 'VIGIL_ERR_MQTT_TOPIC_DENIED' | 'VIGIL_ERR_MQTT_BAD_TOPIC'>;

export interface AclRefusal {
  readonly allowed: false;
  readonly code: AclRefusalCode;
  readonly detail: string;
}

export type PublishDecision = { readonly allowed: true; readonly channel: PublishChannel } | AclRefusal;
export type SubscribeDecision = { readonly allowed: true } | AclRefusal;

const CHANNELS = ['telemetry', 'status', 'commands'] as const;
type Channel = (typeof CHANNELS)[number];

/** Longest topic echoed into a refusal detail; topics are device-chosen and could be huge. */
const MAX_TOPIC_IN_DETAIL = 160;

export function commandsTopic(deviceId: DeviceId): string {
  return `v1/devices/${deviceId}/commands`;
}

/** Splits `v1/devices/{id}/{channel}`; anything else (wildcards included) is not a device topic. */
export function parseDeviceTopic(topic: string): { deviceId: string; channel: Channel } | undefined {
  const parts = topic.split('/');
  if (parts.length !== 4 || parts[0] !== 'v1' || parts[1] !== 'devices') return undefined;
  const deviceId = parts[2] ?? '';
  const channel = CHANNELS.find((c) => c === parts[3]);
  if (channel === undefined || !isValidId(deviceId)) return undefined;
  return { deviceId, channel };
}

export function checkPublish(deviceId: DeviceId, topic: string): PublishDecision {
  const parsed = parseDeviceTopic(topic);
  if (parsed === undefined) {
    return refusal(
      'VIGIL_ERR_MQTT_BAD_TOPIC',
      `device ${deviceId} published to ${quote(topic)}, not a device topic`,
    );
  }
  // An id outside the safe alphabet never owns a topic, whatever identify() returned.
  if (!isValidId(deviceId) || parsed.deviceId !== deviceId) {
    return refusal(
      'VIGIL_ERR_MQTT_TOPIC_DENIED',
      `device ${deviceId} published to ${quote(topic)}, another device's topic`,
    );
  }
  if (parsed.channel === 'commands') {
    return refusal(
      'VIGIL_ERR_MQTT_TOPIC_DENIED',
      `device ${deviceId} published to its commands topic, which only Vigil writes`,
    );
  }
  return { allowed: true, channel: parsed.channel };
}

export function checkSubscribe(deviceId: DeviceId, filter: string): SubscribeDecision {
  if (isValidId(deviceId) && filter === commandsTopic(deviceId)) return { allowed: true };
  // Every other filter (wildcards, shared subscriptions, other devices) is a reach for data the
  // device does not own, so it counts as a denial rather than a malformed request.
  return refusal(
    'VIGIL_ERR_MQTT_TOPIC_DENIED',
    `device ${deviceId} subscribed to ${quote(filter)}; only its commands topic is allowed`,
  );
}

function refusal(code: AclRefusalCode, detail: string): AclRefusal {
  return { allowed: false, code, detail };
}

function quote(topic: string): string {
  const shown = topic.length > MAX_TOPIC_IN_DETAIL ? `${topic.slice(0, MAX_TOPIC_IN_DETAIL)}…` : topic;
  return JSON.stringify(shown);
}
