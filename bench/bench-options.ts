/**
 * `npm run bench`'s command line: the options, their defaults and help, and the parser. Apart
 * from bench/run.ts so it can be tested without starting a run.
 */
import { CLIENT_KINDS, type ClientKind } from './load-generator.ts';

export const PHASES = ['e2e', 'mosquitto', 'sqlite', 'authz', 'ocsp'] as const;
export type Phase = (typeof PHASES)[number];

export interface Options {
  devices: number;
  readingsPerMessage: number;
  inFlight: number;
  generatorThreads: number;
  client: ClientKind;
  assumePeak: number | undefined;
  /** Open-loop runs at half peak; the report judges the one with the median p99. */
  halfPeakRuns: number;
  curve: boolean;
  seconds: number;
  only: Phase | undefined;
  profileServer: string | undefined;
}

export const DEFAULTS: Options = {
  devices: 200,
  readingsPerMessage: 10,
  inFlight: 16,
  generatorThreads: 2,
  client: 'lean',
  assumePeak: undefined,
  halfPeakRuns: 3,
  curve: false,
  seconds: 10,
  only: undefined,
  profileServer: undefined,
};

export const HELP = `Usage: npm run bench -- [options]

Measures Vigil's end-to-end ingest (readings/s committed, publish→PUBACK latency) and, in the
same run, raw Mosquitto QoS 1 pass-through and raw SQLite inserts, then prints ratios and the
targets, then the authorization overhead on a FHIR search (bench/authz.ts) and OCSP answers
per second, signed and cached (bench/ocsp.ts). Writes bench/results/latest.json.

Options:
  --devices N               simulated devices, one MQTT connection each (1-2000, default ${DEFAULTS.devices})
  --readings-per-message N  readings in each telemetry message (1-500, default ${DEFAULTS.readingsPerMessage})
  --in-flight N             unacknowledged messages per device in the peak run (1-100, default ${DEFAULTS.inFlight})
  --generator-threads N     worker threads the end-to-end load generator is spread over (1-8, default ${DEFAULTS.generatorThreads})
  --client KIND             MQTT client of the simulated devices: lean (mqtt-packet over a socket, the
                            default) or mqtt.js; the Mosquitto reference uses the same
  --assume-peak N           run half and quarter peak at N/2 and N/4 messages/s instead of the measured
                            peak (to compare two builds at the same offered load)
  --half-peak-runs N        open-loop runs at half peak, one after another at the same load (1-9,
                            default ${DEFAULTS.halfPeakRuns}); the target is judged on the run with the median p99, and
                            the report lists every run's p99
  --curve                   also run the open loop at 1/8, 1/16 and 1/32 of the peak, for the chart of
                            latency against load (adds about ${3 * (DEFAULTS.seconds + 2)} s)
  --seconds S               length of each measuring window (2-120, default ${DEFAULTS.seconds})
  --only PHASE              run one phase: ${PHASES.join(', ')}
  --profile-server DIR      write a V8 CPU profile of vigil serve (node --cpu-prof) into DIR
  --help                    show this text
`;

export class UsageError extends Error {}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, not "${value.slice(0, 20)}"`);
  return value as T;
}

function wholeNumber(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max)
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, not "${value.slice(0, 20)}"`);
  return n;
}

export function parseArgs(argv: string[]): Options | 'help' {
  const o: Options = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') return 'help';
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const takeValue = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--devices':
        o.devices = wholeNumber(flag, takeValue(), 1, 2000);
        break;
      case '--readings-per-message':
        o.readingsPerMessage = wholeNumber(flag, takeValue(), 1, 500);
        break;
      case '--in-flight':
        o.inFlight = wholeNumber(flag, takeValue(), 1, 100);
        break;
      case '--seconds':
        o.seconds = wholeNumber(flag, takeValue(), 2, 120);
        break;
      case '--generator-threads':
        o.generatorThreads = wholeNumber(flag, takeValue(), 1, 8);
        break;
      case '--client':
        o.client = oneOf(flag, takeValue(), CLIENT_KINDS);
        break;
      case '--assume-peak':
        o.assumePeak = wholeNumber(flag, takeValue(), 1, 1_000_000);
        break;
      case '--half-peak-runs':
        o.halfPeakRuns = wholeNumber(flag, takeValue(), 1, 9);
        break;
      case '--curve':
        if (eq > 0) throw new UsageError('--curve takes no value');
        o.curve = true;
        break;
      case '--only':
        o.only = oneOf(flag, takeValue(), PHASES);
        break;
      case '--profile-server': {
        const v = takeValue();
        if (v.trim() === '') throw new UsageError('--profile-server needs a directory');
        o.profileServer = v;
        break;
      }
      default:
        throw new UsageError(`unknown option "${arg.slice(0, 40)}"; see npm run bench -- --help`);
    }
  }
  return o;
}
