import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildWeb } from '../scripts/build-web.ts';
import type { Role } from '../src/access/roles.ts';
import { enrollDevice } from '../src/devices/enroll-client.ts';
import {
  launchChromium,
  newContext,
  screenshot,
  signIn,
  userWithTotp,
  watchPage,
} from './dashboard-browser.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

const PATIENT = 'p-admin-e2e';
const DEVICE = 'ox-admin-e2e';

/**
 * The administrator's and auditor's screens end to end: a real Vigil, Debian's Chromium, and a
 * device that enrols with the token the page showed and connects over MQTT with mutual TLS.
 */
describe('administration screens in Chromium', { timeout: 240_000 }, () => {
  let h: Harness;
  let browser: Browser;
  let admin: { context: BrowserContext; page: Page };
  let device: MqttClient | undefined;
  const problems: string[] = [];

  /** A user who has already enrolled TOTP (set up through the store, not the UI). */
  async function staffWithTotp(username: string, role: Role) {
    const password = `vigil-e2e-${role}-passphrase-4c1d`;
    const secret = await userWithTotp(h.vigil.access.users, { username, role, password });
    return { username, password, secret };
  }

  async function open(label: string, heading: string) {
    await admin.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label }).click();
    await admin.page.getByRole('heading', { level: 1, name: heading }).waitFor();
  }

  before(async () => {
    await buildWeb();
    h = await startHarness();
    await h.vigil.patients.add(PATIENT, { name: 'Test Admin Patient' });
    browser = await launchChromium();
    const who = await staffWithTotp('ops.admin', 'admin');
    const context = await newContext(browser);
    const page = await context.newPage();
    watchPage(page, problems);
    await signIn(page, h.baseUrl, who.username, who.password, who.secret);
    admin = { context, page };
  });

  after(async () => {
    await admin?.context.close();
    await browser?.close();
    device?.end(true);
    await h?.stop();
  });

  it('an administrator creates a user and sees the one-time password once, and it works', async () => {
    await open('Users', 'Users and roles');
    const form = admin.page.getByRole('form', { name: 'Add a user' });
    await form.getByLabel('Username').fill('nurse.kim');
    await form.getByLabel('Role').selectOption('clinician');
    await form.getByRole('button', { name: 'Add user' }).click();
    const secret = admin.page.getByRole('region', { name: 'One-time password' });
    await secret.getByText('You will not see this again.').waitFor();
    const oneTimePassword = (await secret.getByTestId('one-time-secret').textContent())?.trim() ?? '';
    assert.ok(oneTimePassword.length >= 12, 'a one-time password is shown');
    await admin.page.getByRole('row', { name: /^nurse\.kim/ }).waitFor();
    await screenshot(admin.page, 'users');
    const login = await h.api('/api/v1/auth/login', {
      method: 'POST',
      token: '',
      body: { username: 'nurse.kim', password: oneTimePassword },
    });
    assert.equal(login.status, 200, login.text);
    await secret.getByRole('button', { name: 'Done, hide it' }).click();
    assert.equal(await admin.page.getByText(oneTimePassword).count(), 0, 'hidden for good once done');
  });

  it('an administrator creates a care team and links a patient', async () => {
    await open('Care teams', 'Care teams');
    const form = admin.page.getByRole('form', { name: 'Create a care team' });
    await form.getByLabel('Team id').fill('ward-9');
    await form.getByLabel('Name', { exact: true }).fill('Ward 9');
    await form.getByLabel(/^Members/).fill('nurse.kim, test-clinician');
    await form.getByRole('button', { name: 'Create team' }).click();
    const card = admin.page.getByRole('article', { name: /Ward 9/ });
    await card.getByRole('list', { name: 'Members of Ward 9' }).waitFor();
    await card.getByLabel('Patient id').fill(PATIENT);
    await card.getByRole('button', { name: 'Link patient' }).click();
    await card
      .getByRole('list', { name: 'Patients of Ward 9' })
      .getByText(PATIENT, { exact: true })
      .waitFor();
    const team = (await h.vigil.store.db.selectFrom('care_team_patients').selectAll().execute()).find(
      (r) => r.team_id === 'ward-9',
    );
    assert.equal(team?.patient_id, PATIENT);
    await screenshot(admin.page, 'care-teams');
  });

  it('an administrator records a patient’s consent and sees it listed', async () => {
    await open('Consent', 'Consent');
    await admin.page.getByLabel('Patient id').fill(PATIENT);
    await admin.page.getByRole('button', { name: 'Show consent' }).click();
    const form = admin.page.getByRole('form', { name: 'Record a consent decision' });
    await form.getByLabel('treatment').check();
    await form.getByLabel('vital-signs').check();
    await form.getByLabel('alerts').check();
    await form.getByRole('button', { name: 'Record consent' }).click();
    const row = admin.page.getByRole('row', { name: /^Permit/ });
    await row.getByText('Active').waitFor();
    assert.match((await row.textContent()) ?? '', /vital-signs, alerts/);
    await screenshot(admin.page, 'consent');
  });

  it('an administrator enrols a device; the device enrols with the shown token and connects', async () => {
    await open('Enrol device', 'Enrol a device');
    await admin.page.getByLabel(/^Device id/).fill(DEVICE);
    await admin.page.getByLabel('Model').fill('PulseOx 3');
    await admin.page.getByLabel('Serial number').fill('SN-E2E-1');
    await admin.page.getByLabel(/^Patient id/).fill(PATIENT);
    await admin.page.getByRole('button', { name: 'Register and get token' }).click();
    const panel = admin.page.getByRole('region', { name: 'Enrollment token' });
    const token = (await panel.getByTestId('one-time-secret').textContent())?.trim() ?? '';
    assert.match(token, /^enr_/);
    assert.match(
      (await panel.getByTestId('enrol-command').textContent()) ?? '',
      /vigil device enroll --id ox-admin-e2e/,
    );

    await screenshot(admin.page, 'device-enrolment');
    const creds = await enrollDevice({ serverUrl: h.baseUrl, caPem: h.caPem, deviceId: DEVICE, token });
    device = await h.connect(creds, DEVICE);
    await admin.page.getByRole('main').getByRole('link', { name: DEVICE }).click();
    await admin.page.getByRole('heading', { level: 1, name: `Device ${DEVICE}` }).waitFor();
    await admin.page.getByText(/^\W*Connected$/).waitFor();
    await admin.page.getByText(/Mutual TLS with a client certificate/).waitFor();
    await screenshot(admin.page, 'device');

    // Revoking from the page cuts the live connection at once.
    const closed = new Promise<void>((resolve) => device?.once('close', () => resolve()));
    await admin.page.getByLabel('Reason for revoking').fill('e2e: device retired');
    await admin.page.getByRole('button', { name: 'Revoke certificate' }).click();
    await admin.page.getByText(/Certificate revoked: the device was disconnected/).waitFor();
    await closed;
    await assert.rejects(h.connect(creds, DEVICE));
  });

  it('a device page is reachable from the fleet list', async () => {
    await open('Fleet', 'Device fleet');
    await admin.page
      .getByRole('row', { name: new RegExp(DEVICE) })
      .getByRole('link', { name: DEVICE })
      .click();
    await admin.page.getByRole('heading', { level: 1, name: `Device ${DEVICE}` }).waitFor();
    await admin.page.getByText(/^\W*No valid certificate$/).waitFor();
  });

  it('an auditor opens the audit log, verifies the trail and sees it intact', async () => {
    const who = await staffWithTotp('priv.auditor', 'auditor');
    const context = await newContext(browser);
    const page = await context.newPage();
    watchPage(page, problems);
    await signIn(page, h.baseUrl, who.username, who.password, who.secret);
    await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    await page
      .getByRole('cell', { name: /^device\.revoke/ })
      .first()
      .waitFor();
    await page.getByRole('button', { name: 'Verify audit trail' }).click();
    const result = page.getByRole('status').filter({ hasText: 'Intact' });
    await result.waitFor();
    assert.match((await result.textContent()) ?? '', /All \d+ entries chain correctly/);
    await screenshot(page, 'audit');
    await page.setViewportSize({ width: 820, height: 1180 });
    await screenshot(page, 'audit-tablet');
    await context.close();
  });

  it('logged no CSP violation or script error on any page', () => {
    assert.deepEqual(problems, []);
  });
});
