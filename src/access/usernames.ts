/** Usernames, apart from the user store so the CLI can check one without loading the store. */

const USERNAME = /^[a-z0-9][a-z0-9._@-]{2,63}$/;

/** A username as typed, in canonical (lower-case) form, or undefined when it cannot be one. Never throws. */
export function parseUsername(input: unknown): string | undefined {
  if (typeof input !== 'string' || input.length > 64) return undefined;
  const name = input.normalize('NFKC').trim().toLowerCase();
  return USERNAME.test(name) ? name : undefined;
}
