import { type Command, InvalidArgumentError } from 'commander';
import { type ConfigInput, loadConfig, type VigilConfig } from '../config/config.ts';
import { parseDecimal } from '../config/decimal.ts';

/*
 * What every command's definition needs: its flags, their parsers and the configuration. The
 * program is built from these on every run, --help and a refused flag included, so this file
 * imports nothing of the store, the crypto or the server; openLocal (open-local.ts) does.
 */

export interface CommonFlags {
  dataDir?: string;
  config?: string;
  json?: boolean;
}

/** Adds the flags every command takes. */
export function withCommon(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'data directory (default: $VIGIL_DATA_DIR or ./vigil-data)')
    .option('--config <file>', 'JSON config file')
    .option('--json', 'print one machine-readable JSON object');
}

export function configFrom(flags: CommonFlags, extra: NonNullable<ConfigInput['flags']> = {}): VigilConfig {
  return loadConfig({
    env: process.env,
    configFile: flags.config,
    flags: { dataDir: flags.dataDir, ...extra },
  });
}

/** Vigil's HTTPS address from the configuration (an IPv6 host in brackets). */
/** Who a console command acts as in the audit trail: the operator's login name. */
export const cliActor = (): string => `cli:${process.env.USER ?? 'operator'}`;

export function serverUrl(config: VigilConfig, port = config.httpPort): string {
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return `https://${host}:${port}`;
}

/** A commander argument parser for a whole-number flag in [min, max]. */
export function intOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = parseDecimal(value, { min, max, isWhole: true });
    if (n === undefined)
      throw new InvalidArgumentError(
        `${name} must be a whole number from ${min} to ${max}, in decimal digits`,
      );
    return n;
  };
}

/** A commander argument parser for a number flag in [min, max], e.g. 0.5 or 2. */
export function numberOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = parseDecimal(value, { min, max, isWhole: false });
    if (n === undefined)
      throw new InvalidArgumentError(
        `${name} must be a number from ${min} to ${max}, in decimal digits (e.g. 0.5 or 2)`,
      );
    return n;
  };
}
