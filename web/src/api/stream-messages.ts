import type { Alert, SecurityEvent } from './types.ts';

/**
 * Messages of the live stream (WebSocket /api/v1/stream; docs: stream protocol). A frame is
 * checked field by field before anything touches the caches: a frame that is not one of
 * these shapes is dropped whole, never half-applied.
 */
export interface StreamReading {
  code: string;
  value: number;
  unit: string;
  ts: string;
  questionable: boolean;
}

export type StreamMessage =
  | { type: 'hello'; topics: string[]; patients: string[] | null }
  /** Every 15 s from the server, so a silent stream can be told from a dead one. */
  | { type: 'heartbeat'; ts: string }
  | { type: 'readings'; patientId: string; deviceId: string; readings: StreamReading[] }
  | { type: 'alert'; action: AlertAction; alert: Alert }
  | { type: 'security'; event: SecurityEvent }
  | { type: 'error'; code: string; detail: string };

export const ALERT_ACTIONS = ['raise', 'update', 'resolve', 'acknowledge', 'snooze', 'escalate'] as const;
export type AlertAction = (typeof ALERT_ACTIONS)[number];

/** Frames larger than this are not parsed: no honest message comes near it. */
export const MAX_FRAME_CHARS = 1_000_000;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isStrOrNull = (v: unknown) => v === null || isStr(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isTime = (v: unknown): v is string => isStr(v) && Number.isFinite(Date.parse(v));
const isStrArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isStr);

function reading(v: unknown): StreamReading | null {
  if (!isObj(v) || !isStr(v.code) || !isNum(v.value) || !isStr(v.unit) || !isTime(v.ts)) return null;
  if (v.questionable !== undefined && typeof v.questionable !== 'boolean') return null;
  return { code: v.code, value: v.value, unit: v.unit, ts: v.ts, questionable: v.questionable === true };
}

function alert(v: unknown): Alert | null {
  if (!isObj(v)) return null;
  const ok =
    isStr(v.id) &&
    isStr(v.patient) &&
    isStr(v.condition) &&
    isStr(v.title) &&
    isStrOrNull(v.device) &&
    isStr(v.urgency) &&
    isStr(v.state) &&
    isNum(v.value) &&
    isTime(v.opened) &&
    isStrOrNull(v.acknowledgedBy) &&
    isStrOrNull(v.snoozedUntil);
  return ok ? (v as unknown as Alert) : null;
}

function securityEvent(v: unknown): SecurityEvent | null {
  if (!isObj(v)) return null;
  const ok = isNum(v.id) && isTime(v.ts) && isStr(v.code) && isStr(v.severity) && isStr(v.detail);
  return ok ? (v as unknown as SecurityEvent) : null;
}

/** The message in one text frame, or null for anything else (counted by the caller). */
export function parseStreamMessage(frame: unknown): StreamMessage | null {
  if (!isStr(frame) || frame.length > MAX_FRAME_CHARS) return null;
  let m: unknown;
  try {
    m = JSON.parse(frame);
  } catch {
    return null;
  }
  if (!isObj(m)) return null;
  switch (m.type) {
    case 'hello':
      if (!isStrArray(m.topics) || !(m.patients === null || isStrArray(m.patients))) return null;
      return { type: 'hello', topics: m.topics, patients: m.patients };
    case 'heartbeat':
      return isTime(m.ts) ? { type: 'heartbeat', ts: m.ts } : null;
    case 'readings': {
      if (!isStr(m.patientId) || !isStr(m.deviceId) || !Array.isArray(m.readings)) return null;
      const readings = m.readings.map(reading);
      if (readings.some((r) => r === null)) return null;
      return {
        type: 'readings',
        patientId: m.patientId,
        deviceId: m.deviceId,
        readings: readings as StreamReading[],
      };
    }
    case 'alert': {
      const a = alert(m.alert);
      if (!a || !ALERT_ACTIONS.includes(m.action as AlertAction)) return null;
      return { type: 'alert', action: m.action as AlertAction, alert: a };
    }
    case 'security': {
      const event = securityEvent(m.event);
      return event ? { type: 'security', event } : null;
    }
    case 'error':
      if (!isStr(m.code)) return null;
      return { type: 'error', code: m.code, detail: isStr(m.detail) ? m.detail : '' };
    default:
      return null;
  }
}
