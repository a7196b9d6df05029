import type { Reading } from '../readings-codec.ts';
import type { AlertCondition, AlertSignal } from './alert-conditions.ts';
import type { AlertRules } from './alert-rules.ts';
import { DataQualityMonitor, type QualityIssue } from './data-quality.ts';
import { PatientEvaluator } from './patient-evaluator.ts';

/** The part of a stored message the rules read (an AcceptedMessage fits). */
export interface StoredMessage {
  deviceId: string;
  receivedMs: number;
  parts: ReadonlyArray<{ patientId: string; readings: readonly Reading[] }>;
}

export type CoreEvent =
  | { type: 'alert'; patientId: string; signal: AlertSignal }
  | {
      type: 'quality';
      deviceId: string;
      patientId: string;
      issue: QualityIssue;
      count: number;
      tsMs: number;
      /** The questionable readings themselves, so charts mark exactly these. */
      readings: Array<{ code: string; tsMs: number }>;
    };

interface DeviceWatch {
  patientId: string;
  /** When the engine last heard a reading from the device (its clock, not the device's). */
  lastHeardMs: number;
  isLost: boolean;
  isBatteryLow: boolean;
}

/** Battery must climb this far above the threshold to clear (a charging cradle, a new cell). */
const BATTERY_HYSTERESIS_PERCENT = 5;

const byTime = (a: Reading, b: Reading) => a.tsMs - b.tsMs;

/**
 * The whole rule core: data quality, per-patient physiological rules, and per-device watch
 * (signal loss, battery). Pure and synchronous; the only time it knows is what it is told
 * (`nowMs` for receipt and ticks, reading timestamps for physiology). The persistence layer
 * turns its events into alert rows, audit entries and notices.
 */
export class AlertCore {
  private readonly patients = new Map<string, PatientEvaluator>();
  private readonly watches = new Map<string, DeviceWatch>();
  readonly quality = new DataQualityMonitor();
  /** Readings judged questionable, by identity, for listeners that run after the rules (live stream). */
  private readonly flagged = new WeakSet<Reading>();

  constructor(private readonly rulesOf: (patientId: string) => AlertRules) {}

  observeMessage(m: StoredMessage, nowMs: number, out: CoreEvent[]): void {
    let newestPatient: string | undefined;
    let newestTs = Number.NEGATIVE_INFINITY;
    for (const part of m.parts) {
      const evaluator = this.evaluator(part.patientId);
      let readings = part.readings;
      for (let i = 1; i < readings.length; i++) {
        if (readings[i]!.tsMs < readings[i - 1]!.tsMs) {
          readings = [...readings].sort(byTime);
          break;
        }
      }
      const signals: AlertSignal[] = [];
      let issues:
        | Map<QualityIssue, { count: number; tsMs: number; readings: Array<{ code: string; tsMs: number }> }>
        | undefined;
      for (const r of readings) {
        const issue = this.quality.assess(m.deviceId, part.patientId, r.code, r.value, r.tsMs, m.receivedMs);
        if (issue !== undefined) {
          this.flagged.add(r);
          issues ??= new Map();
          const seen = issues.get(issue);
          if (seen) {
            seen.count++;
            seen.tsMs = r.tsMs;
            seen.readings.push({ code: r.code, tsMs: r.tsMs });
          } else issues.set(issue, { count: 1, tsMs: r.tsMs, readings: [{ code: r.code, tsMs: r.tsMs }] });
        }
        evaluator.observe(r.code, r.value, r.tsMs, issue !== undefined, signals);
        if (r.tsMs > newestTs) {
          newestTs = r.tsMs;
          newestPatient = part.patientId;
        }
      }
      for (const signal of signals) out.push({ type: 'alert', patientId: part.patientId, signal });
      if (issues) {
        for (const [issue, { count, tsMs, readings: flagged }] of issues) {
          out.push({
            type: 'quality',
            deviceId: m.deviceId,
            patientId: part.patientId,
            issue,
            count,
            tsMs,
            readings: flagged,
          });
        }
      }
    }
    if (newestPatient !== undefined) this.heard(m.deviceId, newestPatient, nowMs, out);
  }

  /** Whether observeMessage judged this reading (the same object) questionable. */
  isQuestionable(r: Reading): boolean {
    return this.flagged.has(r);
  }

  /** A status message: battery level, and the device clock against the server's. */
  observeStatus(
    deviceId: string,
    patientId: string | undefined,
    status: { tsMs: number; batteryPercent?: number | undefined },
    receivedMs: number,
    nowMs: number,
    out: CoreEvent[],
  ): void {
    this.quality.noteDeviceClock(deviceId, status.tsMs, receivedMs);
    if (patientId === undefined || status.batteryPercent === undefined) return;
    const watch = this.watch(deviceId, patientId, nowMs, out);
    const limit = this.rulesOf(patientId).batteryLowPercent;
    const battery = status.batteryPercent;
    if (!watch.isBatteryLow && battery < limit) {
      watch.isBatteryLow = true;
      out.push(
        alert(patientId, { kind: 'raise', condition: 'battery-low', deviceId, value: battery, tsMs: nowMs }),
      );
    } else if (watch.isBatteryLow && battery >= limit + BATTERY_HYSTERESIS_PERCENT) {
      watch.isBatteryLow = false;
      out.push(alert(patientId, { kind: 'clear', condition: 'battery-low', deviceId, tsMs: nowMs }));
    }
  }

  /** Starts watching an assigned device (at start-up, from the device list). */
  watchDevice(deviceId: string, patientId: string, lastHeardMs: number): void {
    if (!this.watches.has(deviceId))
      this.watches.set(deviceId, { patientId, lastHeardMs, isLost: false, isBatteryLow: false });
  }

  /**
   * Signal loss: an assigned device silent for the patient's `signalLossMinutes`. A device no
   * longer assigned to anyone (`currentPatient` gives undefined) is no longer watched.
   */
  tick(nowMs: number, currentPatient: (deviceId: string) => string | undefined, out: CoreEvent[]): void {
    for (const [deviceId, watch] of this.watches) {
      const patientId = currentPatient(deviceId);
      if (patientId !== watch.patientId) {
        this.release(deviceId, watch, nowMs, out);
        if (patientId === undefined) continue;
        this.watchDevice(deviceId, patientId, nowMs);
        continue;
      }
      const silentMs = nowMs - watch.lastHeardMs;
      if (!watch.isLost && silentMs >= this.rulesOf(patientId).signalLossMinutes * 60_000) {
        watch.isLost = true;
        const minutes = Math.floor(silentMs / 60_000);
        out.push(
          alert(patientId, {
            kind: 'raise',
            condition: 'signal-loss',
            deviceId,
            value: minutes,
            tsMs: nowMs,
          }),
        );
      }
    }
  }

  setRules(patientId: string, rules: AlertRules): void {
    this.patients.get(patientId)?.setRules(rules);
  }

  /**
   * Takes up an alert left unresolved at the last shutdown, so the rules clear it when the
   * condition is gone instead of leaving it open for good. False for a device alert whose device
   * now watches another patient (reassigned while the server was down): nothing here would ever
   * clear it, so the caller resolves it, as release() would have.
   */
  restore(
    patientId: string,
    condition: AlertCondition,
    deviceId: string | undefined,
    worst: number,
    nowMs: number,
  ): boolean {
    if (deviceId === undefined) {
      this.evaluator(patientId).restore(condition, worst);
      return true;
    }
    this.watchDevice(deviceId, patientId, nowMs);
    const watch = this.watches.get(deviceId);
    if (watch?.patientId !== patientId) return false;
    if (condition === 'signal-loss') watch.isLost = true;
    if (condition === 'battery-low') watch.isBatteryLow = true;
    return true;
  }

  /** A condition resolved by hand is forgotten, so it is raised again only when met afresh. */
  forget(patientId: string, condition: AlertCondition, deviceId?: string): void {
    if (deviceId !== undefined) {
      const watch = this.watches.get(deviceId);
      if (watch && condition === 'signal-loss') watch.isLost = false;
      if (watch && condition === 'battery-low') watch.isBatteryLow = false;
      return;
    }
    this.patients.get(patientId)?.forget(condition);
  }

  /** An erased patient's physiology state goes: nothing of theirs is evaluated or restored again. */
  forgetPatient(patientId: string): void {
    this.patients.delete(patientId);
  }

  private heard(deviceId: string, patientId: string, nowMs: number, out: CoreEvent[]): void {
    const watch = this.watch(deviceId, patientId, nowMs, out);
    watch.lastHeardMs = Math.max(watch.lastHeardMs, nowMs);
    if (watch.isLost) {
      watch.isLost = false;
      out.push(alert(patientId, { kind: 'clear', condition: 'signal-loss', deviceId, tsMs: nowMs }));
    }
  }

  private watch(deviceId: string, patientId: string, nowMs: number, out: CoreEvent[]): DeviceWatch {
    const existing = this.watches.get(deviceId);
    if (existing && existing.patientId === patientId) return existing;
    if (existing) this.release(deviceId, existing, nowMs, out);
    const watch = { patientId, lastHeardMs: nowMs, isLost: false, isBatteryLow: false };
    this.watches.set(deviceId, watch);
    return watch;
  }

  /** The device moved on: its device alerts for the previous patient clear. */
  private release(deviceId: string, watch: DeviceWatch, nowMs: number, out: CoreEvent[]): void {
    this.watches.delete(deviceId);
    if (watch.isLost)
      out.push(alert(watch.patientId, { kind: 'clear', condition: 'signal-loss', deviceId, tsMs: nowMs }));
    if (watch.isBatteryLow)
      out.push(alert(watch.patientId, { kind: 'clear', condition: 'battery-low', deviceId, tsMs: nowMs }));
  }

  private evaluator(patientId: string): PatientEvaluator {
    let evaluator = this.patients.get(patientId);
    if (!evaluator) {
      evaluator = new PatientEvaluator(this.rulesOf(patientId));
      this.patients.set(patientId, evaluator);
    }
    return evaluator;
  }
}

function alert(patientId: string, signal: AlertSignal): CoreEvent {
  return { type: 'alert', patientId, signal };
}
