import { readFileSync } from 'node:fs';
import { VigilError } from '../errors/catalogue.ts';

/**
 * Password policy after NIST SP 800-63B §5.1.1.2: at least 12 characters (counted as Unicode
 * code points after NFKC normalisation), up to 128, any characters including spaces, no
 * composition rules, and a check against common and breached passwords and context words
 * (the service name, the username). Vigil ships its block lists so the check works offline.
 */
export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 128;

const LIST_FILES = ['common-passwords.txt', 'breached-long-passwords.txt'];
const CONTEXT_WORDS = ['vigil', 'iomt'];

/** Reads a block list: one password a line; `#!comment:` lines are notes. */
export function parseBlockList(text: string): Set<string> {
  const out = new Set<string>();
  for (const raw of text.split(/\r?\n/)) {
    if (raw.startsWith('#!comment:')) continue;
    const word = raw.normalize('NFKC').toLowerCase();
    if (word.length > 0) out.add(word);
  }
  return out;
}

let shipped: Set<string> | undefined;
/** The lists shipped under src/access/data/, loaded once. */
export function shippedBlockList(): Set<string> {
  if (!shipped) {
    shipped = new Set();
    for (const file of LIST_FILES) {
      const text = readFileSync(new URL(`./data/${file}`, import.meta.url), 'utf8');
      for (const word of parseBlockList(text)) shipped.add(word);
    }
  }
  return shipped;
}

const LEET: Record<string, string> = {
  '@': 'a',
  '4': 'a',
  '3': 'e',
  '1': 'i',
  '!': 'i',
  '0': 'o',
  $: 's',
  '5': 's',
  '7': 't',
};

const unleet = (text: string) => [...text].map((c) => LEET[c] ?? c).join('');
const core = (text: string) => text.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, '');

/**
 * The forms a guesser tries first: the password, its base without digits or symbols added at
 * either end, each un-leeted ("P@ssw0rd2026!" -> "password"), and the unit of a repetition.
 */
function guessableForms(lower: string): string[] {
  const forms = new Set([lower, unleet(lower), core(lower), unleet(core(lower)), core(unleet(lower))]);
  for (const f of [...forms]) {
    // "passwordpassword", "abcabcabcabc": one unit repeated.
    const unit = /^(.+?)\1+$/u.exec(f)?.[1];
    if (unit) forms.add(unit);
  }
  forms.delete('');
  return [...forms];
}

/** True when the service name makes up most of the password ("vigil2026vigil"). */
function isMostlyServiceName(lower: string): boolean {
  return CONTEXT_WORDS.some((w) => {
    const plain = unleet(lower);
    if (!plain.includes(w)) return false;
    return core(plain.replaceAll(w, '')).replace(/[^\p{L}]/gu, '').length < 8;
  });
}

/** True for runs a keyboard or counting produces: "123456789012", "abcdefghijkl", "zyxwvutsrqpo". */
function isSequential(text: string): boolean {
  const codes = [...text].map((c) => c.codePointAt(0) ?? 0);
  const rising = (d: number) => d === 1 || d === -9; // digits wrap 9 -> 0: "1234567890"
  const falling = (d: number) => d === -1 || d === 9;
  let up = true;
  let down = true;
  for (let i = 1; i < codes.length; i++) {
    const d = (codes[i] ?? 0) - (codes[i - 1] ?? 0);
    up &&= rising(d);
    down &&= falling(d);
  }
  return codes.length >= 3 && (up || down);
}

export interface PolicyContext {
  username?: string | undefined;
  blockList?: ReadonlySet<string>;
}

/**
 * Returns why a password is refused (empty when it is acceptable). Never throws: any string
 * is a valid input, and an unexpected one gets a reason, not an exception.
 */
export function passwordProblems(password: string, ctx: PolicyContext = {}): string[] {
  if (typeof password !== 'string') return ['the password must be a string'];
  const normalized = password.normalize('NFKC');
  const length = [...normalized].length;
  if (length < MIN_PASSWORD_LENGTH)
    return [
      `use at least ${MIN_PASSWORD_LENGTH} characters (this one has ${length}); a passphrase of several words is easiest`,
    ];
  if (length > MAX_PASSWORD_LENGTH)
    return [`use at most ${MAX_PASSWORD_LENGTH} characters (this one has ${length})`];
  const problems: string[] = [];
  const lower = normalized.toLowerCase();
  const list = ctx.blockList ?? shippedBlockList();
  if (guessableForms(lower).some((f) => list.has(f)))
    problems.push('this password is on the list of common or breached passwords; choose another');
  if (/^(.)\1+$/u.test(lower) || isSequential(lower))
    problems.push('a run of repeated or consecutive characters is guessed at once; choose another');
  const username = ctx.username?.normalize('NFKC').toLowerCase();
  if (username && username.length >= 3 && lower.includes(username))
    problems.push('the password must not contain the username');
  if (isMostlyServiceName(lower)) problems.push('the password must not be the name of the service');
  return problems;
}

/** Throws a problem document listing every reason when the password is refused. */
export function assertPasswordAcceptable(password: string, ctx: PolicyContext = {}): void {
  const problems = passwordProblems(password, ctx);
  if (problems.length > 0) throw new VigilError('VIGIL_ERR_AUTH_PASSWORD_WEAK', problems.join('; '));
}
