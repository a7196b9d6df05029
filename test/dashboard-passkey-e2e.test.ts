import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { buildWeb } from '../scripts/build-web.ts';
import {
  launchChromium,
  newContext,
  screenshot,
  signIn,
  userWithTotp,
  watchPage,
} from './dashboard-browser.ts';
import { type Harness, publishQos1, startHarness, telemetry } from './support/vigil-harness.ts';

const PATIENT = 'p-passkey-1';
const DEVICE = 'cgm-passkey-1';
const GLUCOSE = '2339-0';

/**
 * Passkeys and alert links in the dashboard, end to end: a real Vigil, Debian's Chromium, and
 * Chromium's virtual authenticator (DevTools WebAuthn domain) standing in for a platform
 * authenticator — the real browser code path, down to CBOR and the P-256 signature.
 *
 * The browser opens https://localhost:<port>, not the harness's https://127.0.0.1:<port>:
 * WebAuthn refuses IP addresses as relying-party ids, and Vigil on 127.0.0.1 answers passkey
 * ceremonies as rpId "localhost" (src/access/passkeys.ts relyingPartyId), so the origin the
 * browser reports must be localhost. The server still listens on 127.0.0.1, where localhost
 * resolves.
 */
describe('passkeys and alert links in Chromium', { timeout: 240_000 }, () => {
  let h: Harness;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let cdp: CDPSession;
  let authenticatorId: string;
  let device: MqttClient;
  let base: string;
  const problems: string[] = [];
  const nurse = { username: 'nurse.kim', password: 'amber-meadow-kettle-8841', secret: '' };

  before(async () => {
    await buildWeb();
    h = await startHarness();
    base = `https://localhost:${h.vigil.httpPort}`;
    const creds = await h.enrol(DEVICE, PATIENT);
    device = await h.connect(creds, DEVICE);
    // A clinician who already enrolled TOTP (through the store; the UI enrolment has its own test).
    nurse.secret = await userWithTotp(h.vigil.access.users, {
      username: nurse.username,
      role: 'clinician',
      password: nurse.password,
    });
    const team = await h.api('/api/v1/care-teams/harness-ward/members', {
      method: 'PUT',
      body: { members: ['test-clinician', nurse.username] },
    });
    assert.equal(team.status, 200, team.text);
    browser = await launchChromium();
    context = await newContext(browser);
    page = await context.newPage();
    watchPage(page, problems);
    cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
      },
    }));
  });

  after(async () => {
    await browser?.close();
    device?.end(true);
    await h?.stop();
  });

  const credentials = async () =>
    (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;

  const passwordStep = async () => {
    await page.getByLabel('Username').fill(nurse.username);
    await page.getByLabel('Password', { exact: true }).fill(nurse.password);
    await page.getByRole('button', { name: 'Continue' }).click();
  };

  it('registers a passkey on the Account screen after a TOTP sign-in', async () => {
    await signIn(page, base, nurse.username, nurse.password, nurse.secret);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' }).click();
    await page.getByRole('heading', { name: 'Your account' }).waitFor();
    await page.getByText('You have no passkeys yet.').waitFor();
    const form = page.getByRole('form', { name: 'Add a passkey' });
    await form.getByLabel('Name for this passkey').fill('Ward 3 workstation');
    await form.getByLabel('Your current password').fill(nurse.password);
    await form.getByRole('button', { name: 'Add passkey' }).click();
    await page.getByRole('status').filter({ hasText: 'Passkey “Ward 3 workstation” added' }).waitFor();
    const item = page.getByRole('listitem', { name: 'Ward 3 workstation' });
    await item.getByText('not used yet').waitFor();
    const stored = await credentials();
    assert.equal(stored.length, 1, 'the authenticator holds one new credential');
    assert.equal(stored[0]?.rpId, 'localhost');
    await screenshot(page, 'account');
  });

  it('signs out, then signs in with the password and the passkey instead of a code', async () => {
    await page.getByRole('button', { name: 'Sign out of this session' }).click();
    await page.getByRole('heading', { name: 'Sign in to Vigil' }).waitFor();
    const countBefore = (await credentials())[0]?.signCount ?? 0;
    await passwordStep();
    await page.getByRole('button', { name: 'Use a passkey' }).waitFor();
    await screenshot(page, 'sign-in-passkey');
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.getByRole('heading', { name: 'My patients' }).waitFor();
    const countAfter = (await credentials())[0]?.signCount ?? 0;
    assert.ok(countAfter > countBefore, 'the passkey signed the sign-in challenge');
    const audit = await h.vigil.store.db
      .selectFrom('audit_log')
      .select(['action', 'outcome'])
      .where('actor', '=', `user:${nurse.username}`)
      .execute();
    assert.ok(audit.some((e) => e.action === 'auth.passkey.register' && e.outcome === 'success'));
    assert.ok(audit.some((e) => e.action === 'auth.mfa.passkey' && e.outcome === 'success'));
  });

  it('lists the passkey as used and removes it again', async () => {
    await page.goto(`${base}/account`);
    const item = page.getByRole('listitem', { name: 'Ward 3 workstation' });
    await item.getByText(/last used/).waitFor();
    await page.getByLabel('Your current password, to remove a passkey').fill(nurse.password);
    await item.getByRole('button', { name: /Remove/ }).click();
    await item.getByRole('button', { name: /Confirm removal/ }).click();
    await page.getByText('You have no passkeys yet.').waitFor();
    // Put it back for the alert-link test below, which signs in with it.
    const form = page.getByRole('form', { name: 'Add a passkey' });
    await form.getByLabel('Name for this passkey').fill('Ward 3 workstation');
    await form.getByLabel('Your current password').fill(nurse.password);
    await form.getByRole('button', { name: 'Add passkey' }).click();
    await page.getByRole('listitem', { name: 'Ward 3 workstation' }).waitFor();
  });

  it('opens an e-mail alert link after sign-in with that alert focused and marked current', async () => {
    assert.equal(
      await publishQos1(
        device,
        `v1/devices/${DEVICE}/telemetry`,
        telemetry(Date.now(), [{ code: GLUCOSE, value: 45, unit: 'mg/dL' }]),
      ),
      0,
    );
    const listed = await waitForAlert();
    await page.getByRole('button', { name: 'Sign out of this session' }).click();
    await page.getByRole('heading', { name: 'Sign in to Vigil' }).waitFor();
    // As the link in the alert e-mail (src/notify/webhooks-events.ts alertLink) opens it.
    await page.goto(`${base}/alerts?alert=${listed}`);
    await page.getByRole('heading', { name: 'Sign in to Vigil' }).waitFor();
    await passwordStep();
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    const item = page.locator(`li[aria-current="true"]#alert-${listed}`);
    await item.waitFor();
    // Keyboard and screen-reader focus is on it (CSS :focus matches only the active element).
    await page.locator(`#alert-${listed}:focus`).waitFor();
    assert.match((await item.textContent()) ?? '', /Glucose/);
    assert.equal(await page.locator('li[aria-current="true"]').count(), 1);
  });

  it('says the passkey is not registered once it was removed from the account, and keeps the code step', async () => {
    await page.goto(`${base}/account`);
    const item = page.getByRole('listitem', { name: 'Ward 3 workstation' });
    await page.getByLabel('Your current password, to remove a passkey').fill(nurse.password);
    await item.getByRole('button', { name: /Remove/ }).click();
    await item.getByRole('button', { name: /Confirm removal/ }).click();
    await page.getByText('You have no passkeys yet.').waitFor();
    assert.equal((await credentials()).length, 1, 'the authenticator still holds the old credential');
    await page.getByRole('button', { name: 'Sign out of this session' }).click();
    await page.getByRole('heading', { name: 'Sign in to Vigil' }).waitFor();
    await passwordStep();
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    const message = page.getByRole('alert');
    await message.waitFor();
    assert.match((await message.textContent()) ?? '', /not registered to your account/);
    await page.getByLabel('Code from your authenticator app').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Use a passkey' }).isEnabled(), true);
  });

  it('logged no CSP violation or script error on any page', () => {
    assert.deepEqual(problems, []);
  });

  /** The id of the open glucose alert, once the rules raised it (read as the harness clinician). */
  async function waitForAlert(): Promise<string> {
    const end = Date.now() + 15_000;
    for (;;) {
      const r = await h.api('/api/v1/alerts?state=open', { token: h.clinicianToken });
      const found = (r.json as { alerts?: Array<{ id: string; patient: string }> }).alerts?.find(
        (a) => a.patient === PATIENT,
      );
      if (found) return found.id;
      if (Date.now() > end) throw new Error(`no alert for ${PATIENT}: ${r.status} ${r.text}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
});
