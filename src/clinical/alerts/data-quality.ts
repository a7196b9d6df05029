import { CODES } from './alert-conditions.ts';

/**
 * Why a reading is questionable (the seeds' "reliability and accuracy" risk):
 * - implausible-jump: it moved further from the previous reading than the body can;
 * - flat-line: the device repeats one value exactly for longer than real physiology does
 *   (a frozen sensor or firmware resending its last sample);
 * - clock-skew: the device's clock is far off, so its timestamps cannot be trusted.
 */
export type QualityIssue = 'implausible-jump' | 'flat-line' | 'clock-skew';
export const QUALITY_ISSUES: readonly QualityIssue[] = ['implausible-jump', 'flat-line', 'clock-skew'];

interface JumpLimit {
  /** Allowed change between two readings close together (noise, device resolution). */
  step: number;
  /** ...plus this much per minute between them (the fastest true physiological change). */
  perMinute: number;
}
interface FlatLimit {
  /** Identical consecutive values needed... */
  readings: number;
  /** ...spanning at least this long. */
  spanMs: number;
}

const MINUTE = 60_000;
/**
 * Per-code limits. Flat-line windows are long where a steady value is normal (SpO2 often
 * sits at 98 % for minutes; integer CGM values repeat) and short where it is not (heart rate
 * varies beat to beat, so 30 s of one exact value means the sensor has stopped measuring).
 */
const LIMITS: Record<string, { jump?: JumpLimit; flat?: FlatLimit }> = {
  [CODES.heartRate]: { jump: { step: 35, perMinute: 60 }, flat: { readings: 20, spanMs: 30_000 } },
  [CODES.spo2]: { jump: { step: 10, perMinute: 10 }, flat: { readings: 300, spanMs: 10 * MINUTE } },
  [CODES.glucose]: { jump: { step: 15, perMinute: 5 }, flat: { readings: 6, spanMs: 25 * MINUTE } },
  [CODES.glucoseCgm]: { jump: { step: 15, perMinute: 5 }, flat: { readings: 6, spanMs: 25 * MINUTE } },
  [CODES.temperature]: { jump: { step: 1, perMinute: 0.1 }, flat: { readings: 30, spanMs: 30 * MINUTE } },
  [CODES.systolic]: { jump: { step: 60, perMinute: 2 }, flat: { readings: 4, spanMs: 45 * MINUTE } },
  [CODES.diastolic]: { jump: { step: 40, perMinute: 2 }, flat: { readings: 4, spanMs: 45 * MINUTE } },
};

/** A reading stamped further ahead of the server than this comes from a clock running fast. */
export const MAX_AHEAD_MS = 60_000;
/** A status message whose clock differs from the server's by more than this marks the device. */
export const MAX_CLOCK_OFFSET_MS = 2 * MINUTE;

interface CodeTrack {
  lastValue: number;
  lastTsMs: number;
  flatSinceMs: number;
  flatCount: number;
}

interface DeviceTrack {
  /** Whose readings the tracks hold: a device moved to another patient starts afresh. */
  patientId: string | undefined;
  codes: Map<string, CodeTrack>;
  flatCodes: Set<string>;
  isClockOff: boolean;
}

/**
 * Judges each reading against the device's previous ones; pure and in memory, one small
 * record per (device, code). A device with one flat-lined code is suspect as a whole: a
 * pulse oximeter's heart rate and SpO2 come from the same optical signal, so if one froze,
 * the other is not to be trusted either.
 */
export class DataQualityMonitor {
  private readonly devices = new Map<string, DeviceTrack>();

  assess(
    deviceId: string,
    patientId: string,
    code: string,
    value: number,
    tsMs: number,
    receivedMs: number,
  ): QualityIssue | undefined {
    const device = this.device(deviceId);
    if (device.patientId !== patientId) {
      device.patientId = patientId;
      device.codes.clear();
      device.flatCodes.clear();
    }
    const limits = LIMITS[code];
    let track = device.codes.get(code);
    let jumped = false;
    if (track === undefined) {
      track = { lastValue: value, lastTsMs: tsMs, flatSinceMs: tsMs, flatCount: 1 };
      device.codes.set(code, track);
    } else if (tsMs > track.lastTsMs) {
      if (limits?.jump) {
        const minutes = (tsMs - track.lastTsMs) / MINUTE;
        jumped = Math.abs(value - track.lastValue) > limits.jump.step + limits.jump.perMinute * minutes;
      }
      if (value === track.lastValue) track.flatCount++;
      else {
        track.flatSinceMs = tsMs;
        track.flatCount = 1;
      }
      track.lastValue = value;
      track.lastTsMs = tsMs;
    }
    const flat = limits?.flat;
    if (flat && track.flatCount >= flat.readings && track.lastTsMs - track.flatSinceMs >= flat.spanMs) {
      device.flatCodes.add(code);
    } else {
      device.flatCodes.delete(code);
    }
    if (device.isClockOff || tsMs > receivedMs + MAX_AHEAD_MS) return 'clock-skew';
    if (device.flatCodes.size > 0) return 'flat-line';
    if (jumped) return 'implausible-jump';
    return undefined;
  }

  /** From a status message: the device's own clock against the server's at receipt. */
  noteDeviceClock(deviceId: string, deviceTsMs: number, receivedMs: number): boolean {
    const device = this.device(deviceId);
    device.isClockOff = Math.abs(deviceTsMs - receivedMs) > MAX_CLOCK_OFFSET_MS;
    return device.isClockOff;
  }

  private device(deviceId: string): DeviceTrack {
    let device = this.devices.get(deviceId);
    if (!device) {
      device = { patientId: undefined, codes: new Map(), flatCodes: new Set(), isClockOff: false };
      this.devices.set(deviceId, device);
    }
    return device;
  }
}
