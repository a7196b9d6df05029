import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyRing } from '../../src/crypto/key-ring.ts';
import { openStore, type Store } from '../../src/store/database.ts';

/** A real SQLite store in a fresh temp dir, with a key ring under a throwaway master key. */
export async function tempStore(): Promise<{
  store: Store;
  keys: KeyRing;
  dir: string;
  cleanup(): Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-test-'));
  const store = await openStore({ dataDir: dir });
  const keys = new KeyRing(store.db, { id: 'mk-test', key: randomBytes(32) });
  return {
    store,
    keys,
    dir,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
