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

  constructor(
    private readonly db: Kysely<Schema>,
    private readonly master: MasterKey,
  ) {}

  get masterKeyId(): string {
    return this.master.id;
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
      if (row.master_key_id !== this.master.id) {
        throw new VigilError(
          'VIGIL_ERR_CRYPTO_OPEN_FAILED',
          `data key ${row.id} is wrapped by master key ${row.master_key_id}, not the loaded ${this.master.id}; check VIGIL_MASTER_KEY_FILE`,
        );
      }
      const key = open(this.master.key, row.wrapped, this.wrapAad(row.id, purpose, ownerId));
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

  /** Synchronous lookup for the hot path; undefined when the key is not loaded yet. */
  cachedDataKey(purpose: KeyPurpose, ownerId: string): Buffer | undefined {
    return this.cache.get(`${purpose}|${ownerId}`);
  }

  /** Seal a named system secret (CA keys, TLS key) directly under the master key. */
  async putSecret(name: string, value: Buffer): Promise<void> {
    await this.db
      .insertInto('sealed_secrets')
      .values({
        name,
        master_key_id: this.master.id,
        sealed: seal(this.master.key, value, `secret|${name}`),
        created_at: Date.now(),
      })
      .execute();
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
    return open(this.master.key, row.sealed, `secret|${name}`);
  }
}
