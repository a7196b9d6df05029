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
  /** The last reading not judged a jump: what the next one is measured against. */
  lastValue: number;
  lastTsMs: number;
  /** The last reading judged a jump, if the one after it has not settled the matter yet. */
  pending: { value: number; tsMs: number } | undefined;
  /** The newest reading of the code, whatever its judgement. */
  lastSeenMs: number;
  flatValue: number;
  flatSinceMs: number;
  flatCount: number;
  isFlat: boolean;
}

interface DeviceTrack {
  /** Whose readings the tracks hold: a device moved to another patient starts afresh. */
  patientId: string | undefined;
  codes: Map<string, CodeTrack>;
  isClockOff: boolean;
}

/**
 * Heart rate and SpO2 of a pulse oximeter come from one optical signal, so a frozen one may
 * speak against the other; other codes (a temperature probe, a cuff on the same monitor) are
 * separate sensors, and a steady one says nothing about the rest.
 */
const OPTICAL_PARTNER: Readonly<Record<string, string>> = {
  [CODES.heartRate]: CODES.spo2,
  [CODES.spo2]: CODES.heartRate,
};

function isJump(limit: JumpLimit, fromValue: number, fromTsMs: number, value: number, tsMs: number): boolean {
  const minutes = (tsMs - fromTsMs) / MINUTE;
  return Math.abs(value - fromValue) > limit.step + limit.perMinute * minutes;
}

/** Judges each reading against the device's previous ones; pure and in memory, one small record per (device, code). */
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
    }
    const limits = LIMITS[code];
    let track = device.codes.get(code);
    let jumped = false;
    if (track === undefined) {
      track = {
        lastValue: value,
        lastTsMs: tsMs,
        pending: undefined,
        lastSeenMs: tsMs,
        flatValue: value,
        flatSinceMs: tsMs,
        flatCount: 1,
        isFlat: false,
      };
      device.codes.set(code, track);
    } else if (tsMs > track.lastSeenMs) {
      const jump = limits?.jump;
      if (jump) {
        jumped = isJump(jump, track.lastValue, track.lastTsMs, value, tsMs);
        // Two readings in a row at the new level: a true change (a re-seated sensor), not a glitch.
        const { pending } = track;
        if (jumped && pending && !isJump(jump, pending.value, pending.tsMs, value, tsMs)) jumped = false;
      }
      // A glitch is not the baseline: the good reading after it is judged against the last good one.
      if (jumped) track.pending = { value, tsMs };
      else {
        track.lastValue = value;
        track.lastTsMs = tsMs;
        track.pending = undefined;
      }
      if (value === track.flatValue) track.flatCount++;
      else {
        track.flatValue = value;
        track.flatSinceMs = tsMs;
        track.flatCount = 1;
      }
      track.lastSeenMs = tsMs;
    }
    const flat = limits?.flat;
    track.isFlat =
      flat !== undefined &&
      track.flatCount >= flat.readings &&
      track.lastSeenMs - track.flatSinceMs >= flat.spanMs;
    if (device.isClockOff || tsMs > receivedMs + MAX_AHEAD_MS) return 'clock-skew';
    if (this.isFrozen(device, code, tsMs)) return 'flat-line';
    if (jumped) return 'implausible-jump';
    return undefined;
  }

  /**
   * A frozen code taints its own readings, and an optical code its partner's, but only while it
   * keeps sending: a code silent longer than its flat window (a probe unplugged) no longer
   * repeats anything. A frozen heart rate alone does not doubt SpO2: 30 s of one exact rate may
   * be a paced patient (a pacemaker holds 60), and doubting SpO2 then would let a desaturation
   * neither raise nor clear. It does when SpO2 too has not changed since the rate froze: a
   * stopped sensor repeats both. SpO2 frozen for its own 10 minutes is doubt enough for the rate.
   */
  private isFrozen(device: DeviceTrack, code: string, tsMs: number): boolean {
    const own = device.codes.get(code);
    if (own?.isFlat) return true;
    const partner = OPTICAL_PARTNER[code];
    if (partner === undefined) return false;
    const track = device.codes.get(partner);
    const spanMs = LIMITS[partner]?.flat?.spanMs;
    if (!track?.isFlat || spanMs === undefined || tsMs - track.lastSeenMs > spanMs) return false;
    return code !== CODES.spo2 || (own !== undefined && own.flatSinceMs <= track.flatSinceMs);
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
      device = { patientId: undefined, codes: new Map(), isClockOff: false };
      this.devices.set(deviceId, device);
    }
    return device;
  }
}
