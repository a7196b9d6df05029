import { deriveSeed, gaussianAt, Random } from '../random.ts';
import {
  circadian,
  clamp,
  HOUR_MS,
  hourOfDay,
  MINUTE_MS,
  SECOND_MS,
  slowWaves,
  smoothstep,
} from './shapes.ts';
import type { ActiveScenario, Reading, VitalModel } from './types.ts';
import { reading, VITALS } from './vital-codes.ts';

/**
 * Resting heart rate, /min:
 * - a personal resting rate of 63–76 (adult normal 60–100; at rest mostly 60–85);
 * - circadian: about 10 beats lower at night (lowest around 04:00, vagal tone during sleep);
 * - slow variation of ±3 over tens of minutes (posture, digestion, mild activity);
 * - beat-to-beat noise SD 1.5 (respiratory sinus arrhythmia as a 1 Hz monitor sees it).
 * Hypoxaemia and a hypertensive crisis both drive it up (sympathetic response).
 */
export class HeartRate {
  private readonly restingBpm: number;
  private readonly variation: (tMs: number) => number;

  constructor(
    private readonly seed: number,
    private readonly utcOffsetMinutes = 0,
  ) {
    const rand = new Random(deriveSeed(seed, 'heart-rate-patient'));
    this.restingBpm = rand.range(63, 76);
    this.variation = slowWaves(rand, 3, 3, 10 * MINUTE_MS, 90 * MINUTE_MS);
  }

  bpmAt(tMs: number, scenario: ActiveScenario | undefined): number {
    const hour = hourOfDay(tMs, this.utcOffsetMinutes);
    let bpm = this.restingBpm + 5 * circadian(hour, 16) + this.variation(tMs);
    if (scenario?.name === 'desaturation') bpm += 15 * smoothstep((tMs - scenario.startMs) / (3 * MINUTE_MS));
    if (scenario?.name === 'hypertensive-crisis') {
      bpm += 10 * smoothstep((tMs - scenario.startMs) / (20 * MINUTE_MS));
    }
    return Math.round(clamp(bpm + 1.5 * gaussianAt(this.seed, 'heart-rate', tMs), 40, 180));
  }
}

/** A brief nocturnal-apnoea-like desaturation: a dip to `nadirPercent` and back. */
export interface Desaturation {
  startMs: number;
  durationMs: number;
  nadirPercent: number;
}

/**
 * Peripheral oxygen saturation, %:
 * - a personal baseline of 96.2–98 (healthy adults 95–99 at sea level);
 * - slow variation ±0.6 and probe noise SD 0.6 (oximeters are accurate to about ±2 %);
 * - in roughly 6 of 10 hours, one brief desaturation to 86–91 % for 10–40 s (a hypopnoea,
 *   a breath-hold, a moving probe), which a good alerting rule should not page on;
 * - integers, capped at 100 as oximeters display.
 */
export class Spo2 {
  private readonly baselinePercent: number;
  private readonly variation: (tMs: number) => number;

  constructor(private readonly seed: number) {
    const rand = new Random(deriveSeed(seed, 'spo2-patient'));
    this.baselinePercent = rand.range(96.2, 98);
    this.variation = slowWaves(rand, 2, 0.6, 10 * MINUTE_MS, 60 * MINUTE_MS);
  }

  percentAt(tMs: number, scenario: ActiveScenario | undefined): number {
    let spo2 = this.baselinePercent + this.variation(tMs);
    const episode = this.desaturationIn(Math.floor(tMs / HOUR_MS));
    if (episode !== undefined && tMs >= episode.startMs && tMs <= episode.startMs + episode.durationMs) {
      const depth = this.baselinePercent - episode.nadirPercent;
      spo2 -= depth * Math.sin((Math.PI * (tMs - episode.startMs)) / episode.durationMs);
    }
    if (scenario?.name === 'desaturation') {
      // Sustained hypoxaemia (pneumonia, opioid-induced hypoventilation): about 85 % within 3 min.
      const reached = smoothstep((tMs - scenario.startMs) / (3 * MINUTE_MS));
      spo2 = spo2 * (1 - reached) + 85 * reached;
    }
    return Math.round(clamp(spo2 + 0.6 * gaussianAt(this.seed, 'spo2', tMs), 70, 100));
  }

  /** The brief desaturation of epoch hour `hour`, if that hour has one (fixed by the seed). */
  desaturationIn(hour: number): Desaturation | undefined {
    const rand = new Random(deriveSeed(this.seed, 'desaturation', hour));
    if (rand.next() >= 0.6) return undefined;
    const durationMs = rand.range(10, 40) * SECOND_MS;
    return {
      startMs: hour * HOUR_MS + rand.range(0, HOUR_MS - durationMs),
      durationMs,
      nadirPercent: rand.range(86, 91),
    };
  }
}

/** A fingertip or wrist pulse oximeter in remote monitoring: heart rate and SpO2 once a second. */
export class PulseOximeterModel implements VitalModel {
  readonly kind = 'pulse-oximeter';
  readonly cadenceMs = SECOND_MS;
  private readonly heartRate: HeartRate;
  private readonly spo2: Spo2;

  constructor(seed: number, utcOffsetMinutes = 0) {
    this.heartRate = new HeartRate(seed, utcOffsetMinutes);
    this.spo2 = new Spo2(seed);
  }

  valuesAt(tMs: number, scenario: ActiveScenario | undefined): Reading[] {
    return [
      reading(VITALS.heartRate, this.heartRate.bpmAt(tMs, scenario)),
      reading(VITALS.spo2, this.spo2.percentAt(tMs, scenario)),
    ];
  }
}
