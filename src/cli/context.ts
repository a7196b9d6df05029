import { type Command, InvalidArgumentError } from 'commander';
import { type ConfigInput, loadConfig, type VigilConfig } from '../config/config.ts';
import { parseDecimal } from '../config/decimal.ts';
import { KeyRing } from '../crypto/key-ring.ts';
import { loadMasterKeyFile } from '../crypto/master-key.ts';
import { VigilError } from '../errors/catalogue.ts';
import { isInitialized } from '../server/provision.ts';
import { openStore, type Store } from '../store/database.ts';

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

/** Opens the store and key ring of an initialised data dir, like an operator console. */
export async function openLocal(
  flags: CommonFlags,
): Promise<{ config: VigilConfig; store: Store; keys: KeyRing }> {
  const config = configFrom(flags);
  if (!isInitialized(config)) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      `${config.dataDir} is not a Vigil data dir; run "vigil init --data-dir ${config.dataDir}" first`,
    );
  }
  const master = loadMasterKeyFile(config.masterKeyFile);
  const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  return { config, store, keys: new KeyRing(store.db, master) };
}

/** Vigil's HTTPS address from the configuration (an IPv6 host in brackets). */
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
