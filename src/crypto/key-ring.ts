import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { VigilError } from '../errors/catalogue.ts';
import type { Schema } from '../store/schema.ts';
import { KEY_BYTES, open, seal } from './aead.ts';
import type { MasterKey } from './master-key.ts';

export type KeyPurpose = 'patient' | 'system';

/**
 * Envelope encryption: each data key (one per patient, one for system secrets) is random,
 * wrapped by the master key, and stored beside the data. Erasing a patient destroys that
 * patient's wrapped key, after which their sealed rows can never be opened (crypto-shredding).
 */
export class KeyRing {
  private readonly cache = new Map<string, Buffer>();
  /** Every master key this process knows: the current one wraps, any of them unwraps. */
  private readonly masters = new Map<string, MasterKey>();
  private master: MasterKey;

  /**
   * `reload` re-reads the key files when a row names a master key this process has not seen:
   * during a rotation another process switches the current key under us.
   */
  constructor(
    private readonly db: Kysely<Schema>,
    master: MasterKey,
    private readonly reload?: () => MasterKey[],
  ) {
    this.master = master;
    this.masters.set(master.id, master);
  }

  get masterKeyId(): string {
    return this.master.id;
  }

  /** Makes `current` the wrapping key; keys known before stay usable for unwrapping. */
  switchMasterKeys(current: MasterKey, others: MasterKey[] = []): void {
    for (const m of [current, ...others]) this.masters.set(m.id, m);
    this.master = current;
  }

  /** Whether the ring still holds master keys besides the current one. */
  get holdsRetiredMasterKeys(): boolean {
    return this.masters.size > 1;
  }

  /**
   * Drops the master keys other than the current one that wrap no row any more (`inUse`: the
   * ids the data_keys and sealed_secrets rows name) and wipes their bytes: after a rotation a
   * retired key must not live on in this process's memory. A row wrapped by one later (a
   * process that had not switched yet) re-reads the key files, as for any unknown key.
   */
  retireMasterKeys(inUse: ReadonlySet<string>): string[] {
    const retired: string[] = [];
    for (const [id, m] of this.masters) {
      if (id === this.master.id || inUse.has(id)) continue;
      this.masters.delete(id);
      m.key.fill(0);
      retired.push(id);
    }
    return retired;
  }

  /** The master key with this id, re-reading the key files once if it is not known yet. */
  private masterFor(id: string): MasterKey {
    let m = this.masters.get(id);
    if (!m && this.reload) {
      const [current, ...others] = this.reload();
      if (current) this.switchMasterKeys(current, others);
      m = this.masters.get(id);
    }
    if (!m) {
      throw new VigilError(
        'VIGIL_ERR_CRYPTO_OPEN_FAILED',
        `a key is wrapped by master key ${id}, which is not loaded (loaded: ${[...this.masters.keys()].join(', ')}); check VIGIL_MASTER_KEY_FILE`,
      );
    }
    return m;
  }

  /** Re-wraps one data key under the current master key; false if it changed meanwhile. */
  async rewrapDataKey(id: string): Promise<boolean> {
    const row = await this.db.selectFrom('data_keys').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || row.destroyed_at !== null || row.master_key_id === this.master.id) return false;
    const aad = this.wrapAad(row.id, row.purpose as KeyPurpose, row.owner_id);
    const key = open(this.masterFor(row.master_key_id).key, row.wrapped, aad);
    const r = await this.db
      .updateTable('data_keys')
      .set({ master_key_id: this.master.id, wrapped: seal(this.master.key, key, aad) })
      .where('id', '=', id)
      .where('master_key_id', '=', row.master_key_id)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Re-seals one system secret under the current master key; false if nothing changed. */
  async rewrapSecret(name: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('sealed_secrets')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    if (!row || row.master_key_id === this.master.id) return false;
    const value = open(this.masterFor(row.master_key_id).key, row.sealed, `secret|${name}`);
    const r = await this.db
      .updateTable('sealed_secrets')
      .set({ master_key_id: this.master.id, sealed: seal(this.master.key, value, `secret|${name}`) })
      .where('name', '=', name)
      .where('master_key_id', '=', row.master_key_id)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  private wrapAad(id: string, purpose: KeyPurpose, ownerId: string): string {
    return `data-key|${id}|${purpose}|${ownerId}`;
  }

  /** The data key for an owner, created on first use. */
  async dataKey(purpose: KeyPurpose, ownerId: string): Promise<Buffer> {
    const cacheKey = `${purpose}|${ownerId}`;
    const cached = this.cache.get(cacheKey);
    if (cached) return cached;
    const row = await this.db
      .selectFrom('data_keys')
      .selectAll()
      .where('purpose', '=', purpose)
      .where('owner_id', '=', ownerId)
      .executeTakeFirst();
    if (row) {
      if (row.destroyed_at !== null) {
        throw new VigilError(
          'VIGIL_ERR_CRYPTO_OPEN_FAILED',
          `the data key of ${purpose} ${ownerId} was destroyed (erased)`,
        );
      }
      const key = open(
        this.masterFor(row.master_key_id).key,
        row.wrapped,
        this.wrapAad(row.id, purpose, ownerId),
      );
      this.cache.set(cacheKey, key);
      return key;
    }
    const id = `dk-${randomBytes(8).toString('hex')}`;
    const key = randomBytes(KEY_BYTES);
    await this.db
      .insertInto('data_keys')
      .values({
        id,
        purpose,
        owner_id: ownerId,
        master_key_id: this.master.id,
        wrapped: seal(this.master.key, key, this.wrapAad(id, purpose, ownerId)),
        created_at: Date.now(),
        destroyed_at: null,
      })
      .onConflict((oc) => oc.columns(['purpose', 'owner_id']).doNothing())
      .execute();
    // Another worker may have won the race to create it: read back the one that was stored.
    this.cache.delete(cacheKey);
    const stored = await this.db
      .selectFrom('data_keys')
      .select('id')
      .where('purpose', '=', purpose)
      .where('owner_id', '=', ownerId)
      .executeTakeFirstOrThrow();
    if (stored.id === id) {
      this.cache.set(cacheKey, key);
      return key;
    }
    return this.dataKey(purpose, ownerId);
  }

  /**
   * Crypto-shredding: the wrapped key is overwritten and marked destroyed, so everything sealed
   * under it (identity, readings, in any backup made afterwards) can never be opened again.
   */
  async destroy(purpose: KeyPurpose, ownerId: string, nowMs = Date.now()): Promise<void> {
    await this.db
      .updateTable('data_keys')
      .set({ wrapped: Buffer.alloc(0), destroyed_at: nowMs, master_key_id: 'destroyed' })
      .where('purpose', '=', purpose)
      .where('owner_id', '=', ownerId)
      .execute();
    this.forget(`${purpose}|${ownerId}`);
  }

  /** Wipes a cached key's bytes before dropping it, so no copy lingers in this process. */
  private forget(cacheKey: string): void {
    this.cache.get(cacheKey)?.fill(0);
    this.cache.delete(cacheKey);
  }

  /** Drops cached keys that another process destroyed since `sinceMs`; returns their owners. */
  async forgetDestroyed(sinceMs: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('data_keys')
      .select(['purpose', 'owner_id'])
      .where('destroyed_at', '>=', sinceMs)
      .execute();
    for (const r of rows) {
      this.forget(`${r.purpose}|${r.owner_id}`);
    }
    return rows.map((r) => r.owner_id);
  }

  /** Synchronous lookup for the hot path; undefined when the key is not loaded yet. */
  cachedDataKey(purpose: KeyPurpose, ownerId: string): Buffer | undefined {
    return this.cache.get(`${purpose}|${ownerId}`);
  }

  /** Seal a named system secret (CA keys, TLS key) directly under the master key. */
  async putSecret(name: string, value: Buffer): Promise<void> {
    await this.db.insertInto('sealed_secrets').values(this.sealedSecret(name, value)).execute();
  }

  /** Seals `value` over the secret of that name; `db` may be a transaction it must join. */
  async replaceSecret(name: string, value: Buffer, db: Kysely<Schema> = this.db): Promise<void> {
    const row = this.sealedSecret(name, value);
    await db
      .insertInto('sealed_secrets')
      .values(row)
      .onConflict((oc) =>
        oc.column('name').doUpdateSet({
          master_key_id: row.master_key_id,
          sealed: row.sealed,
          created_at: row.created_at,
        }),
      )
      .execute();
  }

  private sealedSecret(name: string, value: Buffer) {
    return {
      name,
      master_key_id: this.master.id,
      sealed: seal(this.master.key, value, `secret|${name}`),
      created_at: Date.now(),
    };
  }

  async getSecret(name: string): Promise<Buffer> {
    const row = await this.db
      .selectFrom('sealed_secrets')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    if (!row)
      throw new VigilError(
        'VIGIL_ERR_CONFIG_INVALID',
        `secret ${name} is missing; was "vigil init" run on this data dir?`,
      );
    return open(this.masterFor(row.master_key_id).key, row.sealed, `secret|${name}`);
  }
}
