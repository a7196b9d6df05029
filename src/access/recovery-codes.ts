import { createHash, randomInt } from 'node:crypto';

/**
 * One-time recovery codes for a user who lost the authenticator: ten codes of 16 characters
 * from a 31-character alphabet without look-alikes (79 bits each, too many to guess, so a
 * plain SHA-256 per code is enough to store them), shown once, each usable once.
 */
export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'; // no i, l, o, 0, 1
const GROUPS = 4;
const GROUP_LENGTH = 4;

export function newRecoveryCode(): string {
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) {
    let group = '';
    for (let i = 0; i < GROUP_LENGTH; i++) group += ALPHABET[randomInt(ALPHABET.length)];
    groups.push(group);
  }
  return groups.join('-');
}

/**
 * Reads a code as a person types it (any case, with or without hyphens and spaces) into its
 * canonical form; undefined when it cannot be a recovery code. Never throws.
 */
export function parseRecoveryCode(input: string): string | undefined {
  if (typeof input !== 'string' || input.length > 64) return undefined;
  const compact = input.toLowerCase().replace(/[\s-]/g, '');
  if (compact.length !== GROUPS * GROUP_LENGTH) return undefined;
  for (const c of compact) if (!ALPHABET.includes(c)) return undefined;
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) groups.push(compact.slice(g * GROUP_LENGTH, (g + 1) * GROUP_LENGTH));
  return groups.join('-');
}

/** Bound to the user so a code hash copied to another user's row opens nothing. */
export function recoveryCodeHash(userId: string, code: string): string {
  return createHash('sha256').update(`recovery|${userId}|${code}`).digest('hex');
}
