import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { Browser } from 'playwright-core';
import { buildWeb } from '../scripts/build-web.ts';
import {
  currentTotpCode,
  launchChromium,
  newContext,
  screenshot,
  signIn,
  userWithTotp,
  waitFor,
  watchPage,
} from './dashboard-browser.ts';
import { type Harness, publishQos1, startHarness, telemetry } from './support/vigil-harness.ts';

const HEART_RATE = '8867-4';
const SPO2 = '59408-5';
const GLUCOSE = '2339-0';
const PATIENT = 'p-ward-1';
const DEVICE = 'ox-ward-1';

/**
 * The dashboard end to end: a real Vigil (SQLite, embedded broker, HTTPS), a simulated device
 * publishing over MQTT with its enrolled certificate, and Debian's Chromium driving the UI.
 */
describe('dashboard in Chromium', { timeout: 240_000 }, () => {
  let h: Harness;
  let browser: Browser;
  let device: MqttClient;
  let creds: Awaited<ReturnType<Harness['enrol']>>;
  let seq = Date.now();
  const problems: string[] = [];
  const security = { username: 'sec.officer', password: 'vigil-e2e-security-7f3a9c', secret: '' };

  const publish = async (readings: Array<{ code: string; value: number; unit: string; ts?: string }>) => {
    seq += 1;
    assert.equal(await publishQos1(device, `v1/devices/${DEVICE}/telemetry`, telemetry(seq, readings)), 0);
  };

  before(async () => {
    await buildWeb();
    h = await startHarness();
    creds = await h.enrol(DEVICE, PATIENT);
    device = await h.connect(creds, DEVICE);
    // Half an hour of one reading a minute, so the chart has a shape.
    const now = Date.now();
    const history = Array.from({ length: 30 }, (_, i) => new Date(now - (30 - i) * 60_000).toISOString());
    await publish(history.map((ts, i) => ({ code: HEART_RATE, value: 70 + (i % 7), unit: '/min', ts })));
    await publish(history.map((ts, i) => ({ code: SPO2, value: 95 + (i % 4), unit: '%', ts })));
    await publishQos1(
      device,
      `v1/devices/${DEVICE}/status`,
      JSON.stringify({ ts: new Date().toISOString(), battery: 81, firmware: '2.4.1', uptime: 3600 }),
    );
    // A security officer who has already enrolled TOTP (set up through the store, not the UI).
    security.secret = await userWithTotp(h.vigil.access.users, {
      username: security.username,
      role: 'security',
      password: security.password,
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    device?.end(true);
    await h?.stop();
  });

  it('serves the page under a strict Content-Security-Policy', async () => {
    const r = await h.api('/patients/anything', { token: '' });
    assert.equal(r.status, 200);
    assert.match(r.text, /<div id="root">/);
    const csp = String(r.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /object-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /connect-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.doesNotMatch(r.text, /<script>|<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script in index.html');
    const api = await h.api('/api/v1/no-such-thing');
    assert.equal(api.status, 404, 'API paths are not answered with the page');
    assert.match(String(api.headers['content-type']), /problem\+json/);
  });

  it('a new clinician replaces the one-time password, enrols TOTP from the QR code, then signs in with a code', async () => {
    const { oneTimePassword } = await h.vigil.access.users.create({ username: 'dr.lee', role: 'clinician' });
    // Dr Lee reads patients through the ward's care team, like every clinician.
    const members = await h.api('/api/v1/care-teams/harness-ward/members', {
      method: 'PUT',
      body: { members: ['test-clinician', 'dr.lee'] },
    });
    assert.equal(members.status, 200, members.text);
    const context = await newContext(browser);
    const page = await context.newPage();
    watchPage(page, problems);
    await page.goto(`${h.baseUrl}/`);
    await page.getByRole('heading', { name: 'Sign in to Vigil' }).waitFor();
    await screenshot(page, 'sign-in');
    await page.getByLabel('Username').fill('dr.lee');
    await page.getByLabel('Password', { exact: true }).fill(String(oneTimePassword));
    await page.getByRole('button', { name: 'Continue' }).click();

    const password = 'quiet-harbour-lantern-2719';
    await page.getByLabel('One-time password you were given').fill(String(oneTimePassword));
    await page.getByLabel('New password', { exact: true }).fill(password);
    await page.getByLabel('New password again').fill(password);
    await page.getByRole('button', { name: 'Save password' }).click();
    await page.getByRole('button', { name: 'Set up authenticator app' }).click();
    await page.getByRole('img', { name: 'QR code for your authenticator app' }).waitFor();
    const secret = (await page.getByTestId('totp-secret').textContent())?.trim() ?? '';
    assert.match(secret, /^[A-Z2-7]{16,}$/);
    await screenshot(page, 'totp-enrolment');
    await page.getByLabel('Six-digit code from the app').fill(await currentTotpCode(secret));
    await page.getByRole('button', { name: 'Confirm' }).click();
    const codes = page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem');
    await codes.first().waitFor();
    assert.ok((await codes.count()) >= 8, 'recovery codes are shown once');
    await page.getByRole('button', { name: 'I have saved these codes' }).click();
    await page.getByRole('heading', { name: 'My patients' }).waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Vigil' }).waitFor();
    await signIn(page, h.baseUrl, 'dr.lee', password, secret);
    await page.getByRole('heading', { name: 'My patients' }).waitFor();
    await context.storageState({ path: `${h.dataDir}/clinician-state.json` });
    await context.close();
  });

  it('shows a patient chart that gains the point a device just published over MQTT', async () => {
    const context = await browser.newContext({
      ignoreHTTPSErrors: true,
      storageState: `${h.dataDir}/clinician-state.json`,
      viewport: { width: 1280, height: 860 },
    });
    const page = await context.newPage();
    watchPage(page, problems);
    await page.goto(`${h.baseUrl}/patients`);
    const row = page.getByRole('row', { name: new RegExp(PATIENT) });
    await row.getByText('Heart rate').waitFor();
    // The patient list and chart screenshots come from dashboard-clinician-e2e (live, trends).
    await row.getByRole('link', { name: PATIENT }).click();
    const chart = page.getByRole('figure', { name: 'Heart rate chart' });
    await chart.waitFor();
    const before = Number(await chart.getAttribute('data-points'));
    assert.equal(before, 30);
    await publish([{ code: HEART_RATE, value: 88, unit: '/min' }]);
    await waitFor(
      async () => Number(await chart.getAttribute('data-points')),
      (n) => n === before + 1,
    );
    await chart.getByText('latest 88 /min').waitFor();
    await chart.getByRole('button', { name: 'Zoom in on Heart rate' }).click();
    await chart.getByRole('button', { name: 'Show all of Heart rate' }).click();
    await context.close();
  });

  it('lists a new alert first in the inbox and acknowledges it', async () => {
    await publish([{ code: GLUCOSE, value: 45, unit: 'mg/dL' }]);
    const context = await browser.newContext({
      ignoreHTTPSErrors: true,
      storageState: `${h.dataDir}/clinician-state.json`,
      viewport: { width: 1280, height: 860 },
    });
    const page = await context.newPage();
    watchPage(page, problems);
    await page.goto(`${h.baseUrl}/alerts`);
    const alert = page.getByRole('listitem', { name: 'urgent alert: Glucose urgently low' });
    await alert.waitFor({ timeout: 15_000 });
    await screenshot(page, 'alerts');
    await alert.getByRole('button', { name: 'Acknowledge' }).click();
    await waitFor(
      async () => (await alert.textContent()) ?? '',
      (text) => /acknowledged by \S*dr\.lee/.test(text),
    );
    await context.close();
  });

  it('lets a security officer quarantine a device and see the security event', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    watchPage(page, problems);
    await signIn(page, h.baseUrl, security.username, security.password, security.secret);
    await page.getByRole('heading', { name: 'Device fleet' }).waitFor();
    const row = page.getByRole('row', { name: new RegExp(DEVICE) });
    await row.getByText('2.4.1').waitFor();
    await row.getByText('Online').waitFor();
    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
    await row.getByRole('button', { name: `Quarantine ${DEVICE}` }).click();
    await row.getByLabel('Reason').fill('unexpected firmware downgrade');
    await row.getByRole('button', { name: 'Confirm quarantine' }).click();
    await row.getByText('Quarantined').waitFor();
    await closed; // the device is cut off at once
    // ...and its readings stop: it cannot come back, and nothing more is stored for it.
    const stored = async () => {
      const r = await h.api(`/api/v1/patients/${PATIENT}/observations?code=${HEART_RATE}&limit=1000`, {
        token: h.clinicianToken,
      });
      assert.equal(r.status, 200, r.text);
      return (r.json as { observations: unknown[] }).observations.length;
    };
    const before = await stored();
    await assert.rejects(h.connect(creds, DEVICE));
    assert.equal(await stored(), before);
    await page.getByRole('link', { name: 'Security events' }).click();
    await page.getByRole('cell', { name: 'VIGIL_ERR_DEVICE_QUARANTINED' }).first().waitFor();
    await screenshot(page, 'security-events');
    await context.close();
  });

  it('logged no CSP violation or script error on any page', () => {
    assert.deepEqual(problems, []);
  });
});
