import type { Kysely } from 'kysely';
import type { VigilConfig } from '../config/config.ts';
import { KeyRing } from '../crypto/key-ring.ts';
import { masterKeyIdsInUse } from '../crypto/key-rotation.ts';
import { loadMasterKeys, type MasterKey } from '../crypto/master-key.ts';
import { VigilError } from '../errors/catalogue.ts';
import { isInitialized } from '../server/provision.ts';
import { openStore, type Store } from '../store/database.ts';
import type { Schema } from '../store/schema.ts';
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
  // The key being retired too, mid-rotation: rows it still wraps are the store's, not foreign.
  const [master, ...retiring] = loadMasterKeys(config.masterKeyFile);
  if (!master) throw new Error('loadMasterKeys returned no key');
  const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  try {
    await assertKeysOpenStore(store.db, [master, ...retiring], config.masterKeyFile);
  } catch (e) {
    await store.close();
    throw e;
  }
  const keys = new KeyRing(store.db, master, () => loadMasterKeys(config.masterKeyFile));
  keys.switchMasterKeys(master, retiring);
  return { config, store, keys };
}

/**
 * Refuses a store wrapped by a master key this process does not hold, before any command
 * writes. Opened anyway, a console command wraps its new keys under the key it has while the
 * rest stays under the other, and the store is split across two keys: the server then refuses
 * it, and a patient added meanwhile is readable only with the wrong one.
 */
async function assertKeysOpenStore(db: Kysely<Schema>, held: MasterKey[], masterKeyFile: string) {
  const heldIds = new Set(held.map((m) => m.id));
  const missing = [...(await masterKeyIdsInUse(db))].filter((id) => !heldIds.has(id)).sort();
  if (missing.length === 0) return;
  throw new VigilError(
    'VIGIL_ERR_CONFIG_INVALID',
    `this store is wrapped by master key ${missing.join(' and ')}, but ${masterKeyFile} holds ${[...heldIds].join(' and ')}; point VIGIL_MASTER_KEY_FILE at the key ${missing.join(' and ')}`,
  );
}
