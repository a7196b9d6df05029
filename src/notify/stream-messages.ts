import type { Reading } from '../clinical/readings-codec.ts';
import type { SecurityEvent } from '../detection/security-events.ts';
import type { ErrorCode } from '../errors/catalogue.ts';
import { isoInstant } from './iso-instant.ts';
import type { StreamTopic } from './stream-query.ts';

/**
 * The server -> client frames of the live stream (briefs/stream-protocol.md), built as JSON
 * text once per event and shared by every connection that may see it.
 */

export function helloFrame(topics: readonly StreamTopic[], patients: readonly string[] | null): string {
  return JSON.stringify({ type: 'hello', topics, patients });
}

/**
 * Sent every heartbeatMs on every connection, whatever else goes by. A browser never sees
 * WebSocket pings, so without a frame of its own it cannot tell a quiet ward from a hung
 * server or a dead proxy; the dashboard calls the stream stale after two missed heartbeats.
 */
export function heartbeatFrame(nowMs: number): string {
  return `{"type":"heartbeat","ts":"${isoInstant(nowMs)}"}`;
}

export function errorFrame(code: ErrorCode, detail: string): string {
  return JSON.stringify({ type: 'error', code, detail });
}

/**
 * Readings frames: one patient's part of a stored message, with values in the stored
 * (canonical) unit as GET /api/v1/patients/{id}/observations gives them. Written by hand with
 * each code's constant text cached: this runs once per stored message while clients watch,
 * so it costs what JSON.stringify would, less the objects it would need.
 */
export class ReadingsFrames {
  private readonly byCode = new Map<string, { head: string; unit: string }>();

  constructor(
    private readonly unitOf: (code: string) => string,
    private readonly isQuestionable: (r: Reading) => boolean,
  ) {}

  build(patientId: string, deviceId: string, readings: readonly Reading[]): string {
    let out = `{"type":"readings","patientId":${JSON.stringify(patientId)},"deviceId":${JSON.stringify(deviceId)},"readings":[`;
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i]!;
      const text = this.textOf(r.code);
      const value = Number.isFinite(r.value) ? r.value : 'null';
      out += `${i === 0 ? '' : ','}${text.head}${value}${text.unit}${isoInstant(r.tsMs)}","questionable":${this.isQuestionable(r)}}`;
    }
    return `${out}]}`;
  }

  private textOf(code: string): { head: string; unit: string } {
    let text = this.byCode.get(code);
    if (!text) {
      text = {
        head: `{"code":${JSON.stringify(code)},"value":`,
        unit: `,"unit":${JSON.stringify(this.unitOf(code))},"ts":"`,
      };
      // Codes come from the registry, so this stays small; the cap is a guard, not a policy.
      if (this.byCode.size < 1000) this.byCode.set(code, text);
    }
    return text;
  }
}

/** `alert` is one item of GET /api/v1/alerts (the routes' view of an alert). */
export function alertFrame(action: string, alert: unknown): string {
  return JSON.stringify({ type: 'alert', action, alert });
}

/** `event` is one item of GET /api/v1/security/events. */
export function securityFrame(e: SecurityEvent): string {
  return JSON.stringify({ type: 'security', event: { ...e, ts: new Date(e.ts).toISOString() } });
}
