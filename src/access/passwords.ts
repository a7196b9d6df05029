import { randomBytes } from 'node:crypto';
import { type Algorithm, hash, verify } from '@node-rs/argon2';

/**
 * Password hashing with argon2id at the OWASP Password Storage parameters (19 MiB, 2 passes,
 * 1 lane). The PHC string carries its own parameters and salt, so raising them later only
 * affects new hashes; `needsRehash` says when an old one should be replaced at sign-in.
 */
const ARGON2ID = 2 as Algorithm; // Algorithm.Argon2id: a const enum, unusable under isolatedModules
export const HASH_PARAMS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password.normalize('NFKC'), { algorithm: ARGON2ID, ...HASH_PARAMS });
}

/** False for a wrong password and for a stored value that is not an argon2 hash; never throws. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password.normalize('NFKC'));
  } catch {
    return false;
  }
}

export function needsRehash(stored: string): boolean {
  const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(stored);
  return (
    !m ||
    Number(m[1]) < HASH_PARAMS.memoryCost ||
    Number(m[2]) < HASH_PARAMS.timeCost ||
    Number(m[3]) !== HASH_PARAMS.parallelism
  );
}

let decoy: Promise<string> | undefined;
/**
 * A hash of a random password, verified when the username is unknown so that an unknown user
 * costs the same argon2 work as a wrong password and timing does not reveal who exists.
 */
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBytes(32).toString('base64url'));
  return decoy;
}
