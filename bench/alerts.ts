/**
 * Alert evaluation cost per reading, against references measured in the same run:
 *
 *   node --import tsx bench/alerts.ts [--devices N] [--seconds S] [--rounds R]
 *
 * The workload is the foundation benchmark's: pulse oximeters batching 5 s of heart rate and
 * SpO2 per message (10 readings), plus one CGM and one cuff per ten patients, with realistic
 * noise, one patient in twenty desaturating (so rules raise, update and clear). Measured on
 * the same messages, round by round in turn after one untimed warm-up round; the median of R
 * rounds (default 7) is reported, since the machine's two cores are shared:
 *
 * - reference A, telemetry decode: the ingest decoder turning the JSON payloads into readings
 *   (the first step of the ingest hot path, which already keeps up with the ingest rate);
 * - reference B, readings codec: decoding the stored binary form of the same readings;
 * - alert core: data quality + rules + device watch (AlertCore.observeMessage), the part of
 *   the alert engine that runs on the ingest path for every stored message. Its events go to
 *   the persistence queue off the hot path and are counted, not written.
 *
 * It prints µs per reading and readings per second for each, the ratios, and the share of one
 * core that alert evaluation would take at the foundation's peak ingest (~210k readings/s).
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { AlertCore, type CoreEvent, type StoredMessage } from '../src/clinical/alerts/alert-core.ts';
import { DEFAULT_ALERT_RULES } from '../src/clinical/alerts/alert-rules.ts';
import { decodeReadings, encodeReadings, type Reading } from '../src/clinical/readings-codec.ts';
import { decodeTelemetry } from '../src/ingest/telemetry-decoder.ts';
import { CodeRegistry } from '../src/ingest/vital-codes.ts';

const FOUNDATION_PEAK_READINGS_PER_SECOND = 210_000;

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '600' },
    rounds: { type: 'string', default: '7' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write('node --import tsx bench/alerts.ts [--devices 200] [--seconds 600] [--rounds 7]\n');
  process.exit(0);
}
const devices = positiveInt('--devices', args.devices, 10_000);
const simSeconds = positiveInt('--seconds', args.seconds, 86_400);
const rounds = positiveInt('--rounds', args.rounds, 50);

function positiveInt(flag: string, text: string, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    process.stderr.write(`${flag} ${text} is not a whole number from 1 to ${max}\n`);
    process.exit(2);
  }
  return n;
}

const noise = (i: number, amplitude: number) =>
  (((i * 2_654_435_761) >>> 0) / 4_294_967_296 - 0.5) * 2 * amplitude;

interface Message {
  stored: StoredMessage;
  payload: Buffer;
  blob: Buffer;
  count: number;
}

/** Builds every message of the run up front, so only the measured work is timed. */
function buildWorkload(): Message[] {
  const t0 = Date.now() - simSeconds * 1000 - 60_000;
  const messages: Message[] = [];
  const add = (deviceId: string, patientId: string, readings: Reading[]) => {
    const receivedMs = readings.at(-1)!.tsMs + 200;
    const wire = readings.map((r) => ({
      code: r.code,
      value: r.value,
      unit:
        r.code === '2339-0'
          ? 'mg/dL'
          : r.code === '59408-5'
            ? '%'
            : r.code.startsWith('84')
              ? 'mm[Hg]'
              : '/min',
      ts: new Date(r.tsMs).toISOString(),
    }));
    messages.push({
      stored: { deviceId, receivedMs, parts: [{ patientId, readings }] },
      payload: Buffer.from(
        JSON.stringify({ seq: messages.length + 1, ts: new Date(receivedMs).toISOString(), readings: wire }),
      ),
      blob: encodeReadings(readings, () => 0),
      count: readings.length,
    });
  };
  for (let s = 0; s < simSeconds; s += 5) {
    for (let d = 0; d < devices; d++) {
      const patientId = `p-${d}`;
      const isDesaturating = d % 20 === 0 && s > simSeconds / 3;
      const readings: Reading[] = [];
      for (let k = s; k < s + 5; k++) {
        const tsMs = t0 + k * 1000;
        const i = d * 1_000_003 + k;
        readings.push({ code: '8867-4', value: Math.round(72 + (d % 9) + noise(i, 3)), tsMs });
        readings.push({
          code: '59408-5',
          value: Math.round((isDesaturating ? 86 : 97) + noise(i + 7, 1.2)),
          tsMs,
        });
      }
      add(`ox-${d}`, patientId, readings);
      if (d % 10 === 0 && s % 300 === 0) {
        add(`cgm-${d}`, patientId, [
          { code: '2339-0', value: Math.round(110 + noise(d + s, 4)), tsMs: t0 + s * 1000 },
        ]);
      }
      if (d % 10 === 5 && s % 900 === 0) {
        const tsMs = t0 + s * 1000;
        add(`bp-${d}`, patientId, [
          { code: '8480-6', value: Math.round(125 + noise(d + s, 8)), tsMs },
          { code: '8462-4', value: Math.round(80 + noise(d + s + 1, 6)), tsMs },
        ]);
      }
    }
  }
  return messages;
}

type Variant = { name: string; run(messages: Message[]): number };

const registry = new CodeRegistry();
const variants: Variant[] = [
  {
    name: 'reference A: telemetry decode (JSON -> readings)',
    run(messages) {
      let sum = 0;
      const nowMs = Date.now();
      for (const m of messages) {
        for (const r of decodeTelemetry(m.payload, registry, { nowMs, maxPastMs: 2 * 86_400_000 }).readings)
          sum += r.value;
      }
      return sum;
    },
  },
  {
    name: 'reference B: readings codec decode',
    run(messages) {
      let sum = 0;
      for (const m of messages) for (const r of decodeReadings(m.blob)) sum += r.value;
      return sum;
    },
  },
  {
    name: 'alert core: data quality + rules + device watch',
    run(messages) {
      const core = new AlertCore(() => DEFAULT_ALERT_RULES);
      const out: CoreEvent[] = [];
      for (const m of messages) core.observeMessage(m.stored, m.stored.receivedMs, out);
      return out.length;
    },
  },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const built = performance.now();
const messages = buildWorkload();
const readings = messages.reduce((n, m) => n + m.count, 0);
process.stdout.write(
  `workload: ${messages.length.toLocaleString()} messages, ${readings.toLocaleString()} readings ` +
    `(${devices} oximeters at 1 Hz for ${simSeconds} s, plus CGMs and cuffs), built in ${((performance.now() - built) / 1000).toFixed(1)} s\n`,
);
// One untimed round: the JIT optimises every path before anything is measured.
for (const v of variants) v.run(messages);
const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
let events = 0;
for (let round = 0; round < rounds; round++) {
  for (const v of variants) {
    const start = performance.now();
    const result = v.run(messages);
    times.get(v.name)!.push(performance.now() - start);
    if (v.name.startsWith('alert')) events = result;
  }
}

const perReadingUs = (name: string) => (median(times.get(name)!) * 1000) / readings;
process.stdout.write(`\nmedian of ${rounds} rounds, per reading:\n`);
for (const v of variants) {
  const us = perReadingUs(v.name);
  process.stdout.write(
    `  ${v.name.padEnd(50)} ${us.toFixed(3).padStart(7)} µs  ${Math.round(1e6 / us)
      .toLocaleString()
      .padStart(12)} readings/s\n`,
  );
}
const alertUs = perReadingUs(variants[2]!.name);
const refA = perReadingUs(variants[0]!.name);
const refB = perReadingUs(variants[1]!.name);
process.stdout.write(
  `\nalert core events on this workload: ${events.toLocaleString()} (raise/update/clear and notices)\n` +
    `ratio alert core / telemetry decode: ${(alertUs / refA).toFixed(2)}  (below 1: cheaper than the decode ingest already pays)\n` +
    `ratio alert core / readings codec decode: ${(alertUs / refB).toFixed(2)}\n` +
    `at the foundation peak of ${FOUNDATION_PEAK_READINGS_PER_SECOND.toLocaleString()} readings/s, alert evaluation takes ` +
    `${((FOUNDATION_PEAK_READINGS_PER_SECOND * alertUs) / 1e4).toFixed(1)} % of one core ` +
    `(headroom ${(1e6 / alertUs / FOUNDATION_PEAK_READINGS_PER_SECOND).toFixed(1)}x)\n`,
);
