import type { VigilConfig } from '../config/config.ts';
import { KeyRing } from '../crypto/key-ring.ts';
import { loadMasterKeyFile } from '../crypto/master-key.ts';
import { VigilError } from '../errors/catalogue.ts';
import { isInitialized } from '../server/provision.ts';
import { openStore, type Store } from '../store/database.ts';
import { type CommonFlags, configFrom } from './context.ts';

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
