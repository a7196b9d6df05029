/**
 * `npm run bench`'s command line (bench/bench-options.ts): every argument list either parses or
 * is refused with one usage error that names the flag; nothing else escapes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DEFAULTS, parseArgs, UsageError } from '../bench/bench-options.ts';

const FLAGS = [
  '--devices',
  '--readings-per-message',
  '--in-flight',
  '--generator-threads',
  '--client',
  '--assume-peak',
  '--half-peak-runs',
  '--seconds',
  '--only',
  '--profile-server',
];

describe('bench command line', () => {
  it('parses the defaults, each flag in both spellings, and --help', () => {
    assert.deepEqual(parseArgs([]), DEFAULTS);
    assert.equal(parseArgs(['--devices', '5', '--help']), 'help');
    const o = parseArgs(['--client', 'mqtt.js', '--only=e2e', '--devices=50', '--assume-peak', '9600']);
    assert.ok(o !== 'help');
    assert.equal(o.client, 'mqtt.js');
    assert.equal(o.only, 'e2e');
    assert.equal(o.devices, 50);
    assert.equal(o.assumePeak, 9600);
    assert.equal(o.curve, false);
    const curve = parseArgs(['--curve', '--seconds', '4']);
    assert.ok(curve !== 'help' && curve.curve && curve.seconds === 4);
    const runs = parseArgs(['--half-peak-runs', '5']);
    assert.ok(runs !== 'help' && runs.halfPeakRuns === 5);
  });

  it('refuses bad values with a line that names the flag and what it accepts', () => {
    const refused = (argv: string[], pattern: RegExp) =>
      assert.throws(
        () => parseArgs(argv),
        (e: unknown) => e instanceof UsageError && pattern.test(e.message),
      );
    refused(['--client', 'paho'], /^--client must be one of lean, mqtt\.js, not "paho"$/);
    refused(['--curve=yes'], /^--curve takes no value$/);
    refused(['--only', 'e2e2'], /^--only must be one of e2e, mosquitto, sqlite, authz/);
    refused(['--devices', '0'], /^--devices must be a whole number from 1 to 2000/);
    refused(['--seconds', '1.5'], /^--seconds must be a whole number/);
    refused(['--half-peak-runs', '0'], /^--half-peak-runs must be a whole number from 1 to 9/);
    refused(['--half-peak-runs=10'], /^--half-peak-runs must be a whole number from 1 to 9/);
    refused(['--client'], /^--client needs a value$/);
    refused(['--client', '--only'], /^--client needs a value$/);
    refused(['--profile-server', ' '], /needs a directory/);
    refused(['--nope'], /^unknown option "--nope"/);
  });

  it('never throws anything but a usage error, whatever the arguments', () => {
    const arg = fc.oneof(
      fc.constantFrom(...FLAGS, '--help', 'lean', 'mqtt.js', 'e2e', '0', '200', '-1', '1e3'),
      fc.string({ maxLength: 12 }),
      fc.tuple(fc.constantFrom(...FLAGS), fc.string({ maxLength: 8 })).map(([f, v]) => `${f}=${v}`),
    );
    fc.assert(
      fc.property(fc.array(arg, { maxLength: 8 }), (argv) => {
        try {
          const o = parseArgs(argv);
          if (o !== 'help') {
            assert.ok(o.devices >= 1 && o.devices <= 2000);
            assert.ok(o.client === 'lean' || o.client === 'mqtt.js');
          }
        } catch (e) {
          assert.ok(e instanceof UsageError, String(e));
          assert.ok(e.message.length < 200 && !e.message.includes('\n'));
        }
      }),
    );
  });
});
