import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
} from 'node:crypto';
import type { Kysely } from 'kysely';
import type { KeyRing } from '../crypto/key-ring.ts';
import type { Schema } from '../store/schema.ts';

const SECRET_NAME = 'audit.signing.key';

/** What a checkpoint signs: its place in the checkpoint chain and the audit head it vouches for. */
export interface CheckpointBody {
  id: number;
  audit_seq: number;
  audit_hash: string;
  ts: number;
  prev_signature: string;
  key_id: string;
}

export function checkpointMessage(c: CheckpointBody): Buffer {
  return Buffer.from(
    `vigil-audit-checkpoint|v1|${c.id}|${c.audit_seq}|${c.audit_hash}|${c.ts}|${c.prev_signature}|${c.key_id}`,
  );
}

export type SignatureCheck = (c: CheckpointBody, signature: string) => boolean;

/** A verifier from a public key alone: auditors can check checkpoints without the master key. */
export function checkpointVerifier(publicKeyPem: string): { keyId: string; check: SignatureCheck } {
  const key = createPublicKey(publicKeyPem);
  const keyId = keyIdOf(publicKeyPem);
  return {
    keyId,
    check: (c, signature) => {
      if (c.key_id !== keyId) return false;
      try {
        return verify(null, checkpointMessage(c), key, Buffer.from(signature, 'base64'));
      } catch {
        return false;
      }
    },
  };
}

function keyIdOf(publicKeyPem: string): string {
  return createHash('sha256').update(publicKeyPem.trim()).digest('hex').slice(0, 16);
}

/**
 * The Ed25519 key that signs audit checkpoints. Its private half is sealed under the master key
 * like the CA keys; the public half is derived from it, never read from a table an attacker
 * with database access could rewrite.
 */
export class AuditSigner {
  private constructor(
    private readonly privateKey: ReturnType<typeof createPrivateKey>,
    readonly publicKeyPem: string,
    readonly keyId: string,
  ) {}

  static async load(db: Kysely<Schema>, keys: KeyRing): Promise<AuditSigner> {
    const row = await db
      .selectFrom('sealed_secrets')
      .select('name')
      .where('name', '=', SECRET_NAME)
      .executeTakeFirst();
    if (!row) {
      const { privateKey } = generateKeyPairSync('ed25519');
      try {
        await keys.putSecret(SECRET_NAME, privateKey.export({ format: 'der', type: 'pkcs8' }));
      } catch {
        // Another process created it first; use theirs.
      }
    }
    const der = await keys.getSecret(SECRET_NAME);
    const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    const publicKeyPem = createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString();
    return new AuditSigner(privateKey, publicKeyPem, keyIdOf(publicKeyPem));
  }

  sign(c: Omit<CheckpointBody, 'key_id'>): CheckpointBody & { signature: string } {
    const body = { ...c, key_id: this.keyId };
    return { ...body, signature: sign(null, checkpointMessage(body), this.privateKey).toString('base64') };
  }

  verifier(): { keyId: string; check: SignatureCheck } {
    return checkpointVerifier(this.publicKeyPem);
  }
}
