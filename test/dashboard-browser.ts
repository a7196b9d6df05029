import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate, generateSecret } from 'otplib';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import type { Role } from '../src/access/roles.ts';
import type { UserStore } from '../src/access/users.store.ts';

/** Debian's Chromium (`apt-get install chromium`); playwright-core downloads no browser of its own. */
export const CHROMIUM = process.env.VIGIL_CHROMIUM ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run "apt-get install -y chromium"`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * A browser context for one person. Vigil's certificate comes from its own CA, which this
 * throwaway profile does not trust; the test pins that CA in its own HTTPS calls instead.
 */
export function newContext(
  browser: Browser,
  viewport = { width: 1280, height: 860 },
): Promise<BrowserContext> {
  return browser.newContext({ ignoreHTTPSErrors: true, viewport, locale: 'en-GB', timezoneId: 'UTC' });
}

/**
 * Collects a page's console errors and uncaught exceptions into `into`, as they come (a copy
 * taken at the start would stay empty); CSP violations show up here as "Refused to ...".
 */
export function watchPage(page: Page, into: string[] = []): string[] {
  page.on('console', (m) => {
    // A 4xx the page expects (401 before sign-in, a deliberate 404) is Chromium's network
    // log, not a script error; CSP refusals and uncaught errors are what this is for.
    if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) return;
    if (m.type() === 'error' || /Content Security Policy|Refused to/i.test(m.text())) into.push(m.text());
  });
  page.on('pageerror', (e) => into.push(`uncaught: ${e.message}`));
  return into;
}

/** Main screens land in docs/screenshots when VIGIL_SCREENSHOTS=1, else in a temp dir. */
const shotDir =
  process.env.VIGIL_SCREENSHOTS === '1'
    ? fileURLToPath(new URL('../docs/screenshots/', import.meta.url))
    : mkdtempSync(join(tmpdir(), 'vigil-shots-'));

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(shotDir, { recursive: true });
  const path = join(shotDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** A TOTP code one step ahead: accepted (RFC 6238 §5.2 drift window) and newer than any used so far. */
export function nextTotpCode(secret: string): Promise<string> {
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 });
}

export function currentTotpCode(secret: string): Promise<string> {
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) });
}

/** Signs in with password then code, through the sign-in screen. */
export async function signIn(
  page: Page,
  baseUrl: string,
  username: string,
  password: string,
  secret: string,
) {
  await page.goto(`${baseUrl}/`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Code from your authenticator app').fill(await nextTotpCode(secret));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Asks until the answer is the wanted one (the page refreshes on its own), or fails with the last answer. */
export async function waitFor<T>(
  read: () => Promise<T>,
  wanted: (v: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last = await read();
  while (!wanted(last)) {
    if (Date.now() > end) throw new Error(`still ${JSON.stringify(last)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
    last = await read();
  }
  return last;
}

/**
 * A user who has already enrolled TOTP (set up through the store, not the UI, so a test signs
 * in with password and code); returns the TOTP secret.
 */
export async function userWithTotp(
  users: UserStore,
  who: { username: string; role: Role; password: string },
): Promise<string> {
  const { user } = await users.create(who);
  const secret = generateSecret();
  await users.setPendingTotp(user.id, secret);
  await users.activatePendingTotp(user.id, 0);
  return secret;
}
