import { existsSync, statSync } from 'node:fs';
import type { Kysely } from 'kysely';
import { VigilError } from '../errors/catalogue.ts';
import { requireFolderOf } from '../store/replace-file.ts';
import type { Schema } from '../store/schema.ts';
import { KeyRing } from './key-ring.ts';
import {
  destroyKeyFile,
  dropUnusablePreviousKey,
  installMasterKeyFile,
  loadMasterKeyFile,
  loadMasterKeys,
  type MasterKey,
  newMasterKey,
  nextKeyPath,
  previousKeyPath,
  removeLeftoverShreds,
  replaceMasterKeyFile,
  writeMasterKeyFile,
} from './master-key.ts';

/**
 * Master key rotation while the server runs.
 *
 * 1. The current key file moves aside to `<file>.previous`; a new key becomes `<file>`.
 * 2. A running server notices the new file on its next poll, wraps new keys with it from then
 *    on, still unwraps with the old one, and says so in the `master_key.active` setting.
 * 3. Every data key and system secret still wrapped by the old key is re-wrapped (a few rows
 *    per transaction; data keys are tiny, the readings they protect are not touched).
 * 4. When none is left and the server has switched, the old key file is overwritten and removed.
 *
 * Interrupted at any point, it resumes: the previous file says a rotation is under way.
 */
export const ACTIVE_KEY_SETTING = 'master_key.active';
export const NO_SERVER = 'none';

export interface RotationResult {
  oldKeyId: string;
  newKeyId: string;
  /** Re-wrapped by this rotation; a running server re-wraps (and creates) others itself. */
  dataKeys: number;
  secrets: number;
  /** What the new key wraps at the end, whoever wrapped it: the number to tell the operator. */
  underNewKey: { dataKeys: number; secrets: number };
  /** Still wrapped by an older key at the end (none once finished). */
  underOldKey: { dataKeys: number; secrets: number };
  /** False when a running server had not switched yet; the old key file then stays. */
  finished: boolean;
  resumed: boolean;
  /**
   * Backups made before this rotation are sealed under the old key and open only with it; once
   * finished this process has destroyed its file, so this says where a copy was kept, if asked.
   */
  oldKeyKeptIn: string | null;
  /** An unusable `.previous` left by an interrupted rotation, removed before starting. */
  notices: string[];
}

export interface RotationOptions {
  db: Kysely<Schema>;
  masterKeyFile: string;
  /** How long to wait for a running server to switch keys. */
  serverWaitMs?: number;
  /**
   * Where to write a copy of the old key (0600, durably) before anything is changed: every
   * backup made before the rotation needs it, and the rotation destroys the key file.
   */
  keepOldKeyFile?: string;
  onProgress?(done: number, total: number): void;
}

async function activeKeySetting(db: Kysely<Schema>): Promise<string | undefined> {
  const row = await db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', ACTIVE_KEY_SETTING)
    .executeTakeFirst();
  return row?.value;
}

export async function setActiveKey(db: Kysely<Schema>, value: string): Promise<void> {
  await db
    .insertInto('settings')
    .values({ key: ACTIVE_KEY_SETTING, value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
    .execute();
}

async function stillWrappedByOthers(db: Kysely<Schema>, currentId: string) {
  const dataKeys = await db
    .selectFrom('data_keys')
    .select('id')
    .where('master_key_id', '!=', currentId)
    .where('destroyed_at', 'is', null)
    .execute();
  const secrets = await db
    .selectFrom('sealed_secrets')
    .select('name')
    .where('master_key_id', '!=', currentId)
    .execute();
  return { dataKeys: dataKeys.map((r) => r.id), secrets: secrets.map((r) => r.name) };
}

/**
 * Wipes from the ring each master key other than its current one that no row is wrapped by any
 * more (see KeyRing.retireMasterKeys); returns their ids.
 */
export async function retireUnusedMasterKeys(db: Kysely<Schema>, keys: KeyRing): Promise<string[]> {
  if (!keys.holdsRetiredMasterKeys) return [];
  return keys.retireMasterKeys(await masterKeyIdsInUse(db));
}

/** The master keys some live data key or sealed secret is wrapped by. */
export async function masterKeyIdsInUse(db: Kysely<Schema>): Promise<Set<string>> {
  const rows = await db
    .selectFrom('data_keys')
    .select('master_key_id')
    .distinct()
    .where('destroyed_at', 'is', null)
    .union(db.selectFrom('sealed_secrets').select('master_key_id').distinct())
    .execute();
  return new Set(rows.map((r) => r.master_key_id));
}

/** Re-wraps everything not under the ring's current key; returns how many rows moved. */
export async function rewrapAll(
  db: Kysely<Schema>,
  keys: KeyRing,
  onProgress?: (done: number, total: number) => void,
): Promise<{ dataKeys: number; secrets: number }> {
  let dataKeys = 0;
  let secrets = 0;
  // A server may wrap a new key with the old master until it notices the switch: sweep again.
  for (let pass = 0; pass < 10; pass++) {
    const todo = await stillWrappedByOthers(db, keys.masterKeyId);
    const total = todo.dataKeys.length + todo.secrets.length;
    if (total === 0) break;
    let done = 0;
    for (const id of todo.dataKeys) {
      if (await keys.rewrapDataKey(id)) dataKeys++;
      if (++done % 100 === 0 || done === total) onProgress?.(done, total);
    }
    for (const name of todo.secrets) {
      if (await keys.rewrapSecret(name)) secrets++;
      if (++done % 100 === 0 || done === total) onProgress?.(done, total);
    }
  }
  return { dataKeys, secrets };
}

export async function rotateMasterKey(opts: RotationOptions): Promise<RotationResult> {
  const { db, masterKeyFile } = opts;
  const previousFile = previousKeyPath(masterKeyFile);
  removeLeftoverShreds(masterKeyFile);
  const notices: string[] = [];
  const dropped = dropUnusablePreviousKey(masterKeyFile);
  if (dropped) notices.push(dropped);
  const resumed = existsSync(previousFile);
  let oldKey: MasterKey;
  let newKey: MasterKey;
  if (resumed) {
    // A key written for a rename that never happened wraps nothing: it goes, overwritten.
    destroyKeyFile(nextKeyPath(masterKeyFile));
    oldKey = loadMasterKeyFile(previousFile);
    keepOldKey(opts.keepOldKeyFile, oldKey);
    newKey = loadMasterKeyFile(masterKeyFile);
    // Interrupted between setting the old key aside and putting the new one in place: the
    // current file is still the old key. Finishing "as is" would report a rotation that kept it.
    if (newKey.id === oldKey.id) {
      newKey = newMasterKey();
      replaceMasterKeyFile(masterKeyFile, newKey);
    }
  } else {
    oldKey = loadMasterKeyFile(masterKeyFile);
    keepOldKey(opts.keepOldKeyFile, oldKey);
    newKey = newMasterKey();
    // Old key aside first: whatever happens next, both keys are on disk. Through a temp file, so
    // a crash cannot leave an empty `.previous` that no later start can load.
    installMasterKeyFile(previousFile, oldKey);
    replaceMasterKeyFile(masterKeyFile, newKey);
  }
  const keys = new KeyRing(db, newKey, () => loadMasterKeys(masterKeyFile));
  keys.switchMasterKeys(newKey, [oldKey]);

  // A running server announces the key it wraps with; wait until that is the new one.
  const waitMs = opts.serverWaitMs ?? 30_000;
  const deadline = Date.now() + waitMs;
  let active = await activeKeySetting(db);
  while (active !== undefined && active !== NO_SERVER && active !== newKey.id && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    active = await activeKeySetting(db);
  }
  const serverSwitched = active === undefined || active === NO_SERVER || active === newKey.id;

  const moved = await rewrapAll(db, keys, opts.onProgress);
  const left = await stillWrappedByOthers(db, newKey.id);
  const finished = serverSwitched && left.dataKeys.length === 0 && left.secrets.length === 0;
  if (finished) destroyKeyFile(previousFile);
  return {
    oldKeyId: oldKey.id,
    newKeyId: newKey.id,
    ...moved,
    underNewKey: await wrappedBy(db, newKey.id),
    underOldKey: { dataKeys: left.dataKeys.length, secrets: left.secrets.length },
    finished,
    resumed,
    oldKeyKeptIn: opts.keepOldKeyFile ?? null,
    notices,
  };
}

/**
 * Writes the copy `--keep-old-key` asked for, before the rotation changes anything. A file
 * already holding this very key (a resumed rotation asked again) is kept; any other is refused.
 */
function keepOldKey(file: string | undefined, oldKey: MasterKey): void {
  if (file === undefined) return;
  requireFolderOf(file);
  if (existsSync(file)) {
    let held: MasterKey | undefined;
    try {
      held = loadMasterKeyFile(file);
    } catch {
      held = undefined;
    }
    if (held?.id === oldKey.id && held.key.equals(oldKey.key)) return;
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      `${file} exists; choose another --keep-old-key file (nothing was rotated)`,
    );
  }
  writeMasterKeyFile(file, oldKey);
}

/**
 * How many live data keys and secrets a master key wraps. A running server's MasterKeyWatcher
 * re-wraps as soon as it sees the new key file, often before the rotating process gets to them,
 * so what this process moved alone says little; this is what the rotation achieved.
 */
async function wrappedBy(db: Kysely<Schema>, masterKeyId: string) {
  const dataKeys = await db
    .selectFrom('data_keys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('master_key_id', '=', masterKeyId)
    .where('destroyed_at', 'is', null)
    .executeTakeFirstOrThrow();
  const secrets = await db
    .selectFrom('sealed_secrets')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('master_key_id', '=', masterKeyId)
    .executeTakeFirstOrThrow();
  return { dataKeys: Number(dataKeys.n), secrets: Number(secrets.n) };
}

/**
 * The server side: notices a new key file, switches the ring to it (keeping the old key for
 * unwrapping), re-wraps what it may have wrapped with the old key meanwhile, and announces
 * the switch for the rotating process.
 */
export class MasterKeyWatcher {
  private stamp: string;

  constructor(
    private readonly db: Kysely<Schema>,
    private readonly keys: KeyRing,
    private readonly masterKeyFile: string,
  ) {
    this.stamp = this.fileStamp();
  }

  private fileStamp(): string {
    try {
      const st = statSync(this.masterKeyFile);
      return `${st.ino}:${st.mtimeMs}:${st.size}`;
    } catch {
      return 'missing';
    }
  }

  async start(): Promise<void> {
    const [current, ...others] = loadMasterKeys(this.masterKeyFile);
    if (current) this.keys.switchMasterKeys(current, others);
    await setActiveKey(this.db, this.keys.masterKeyId);
    await retireUnusedMasterKeys(this.db, this.keys);
  }

  /**
   * Cheap when nothing changed: one stat of the key file, and, while the ring still holds a
   * retired master key, one query for whether any row is still wrapped by it.
   */
  async check(): Promise<boolean> {
    const stamp = this.fileStamp();
    if (stamp === this.stamp || stamp === 'missing') {
      await retireUnusedMasterKeys(this.db, this.keys);
      return false;
    }
    this.stamp = stamp;
    const [current, ...others] = loadMasterKeys(this.masterKeyFile);
    if (!current || current.id === this.keys.masterKeyId) return false;
    this.keys.switchMasterKeys(current, others);
    await setActiveKey(this.db, current.id);
    await rewrapAll(this.db, this.keys);
    await retireUnusedMasterKeys(this.db, this.keys);
    return true;
  }

  async stop(): Promise<void> {
    await setActiveKey(this.db, NO_SERVER);
  }
}
