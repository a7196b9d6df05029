/**
 * The clinician's dashboard end to end, live: a real Vigil (SQLite, embedded broker, HTTPS,
 * the WebSocket stream), a simulated device publishing over MQTT with its enrolled certificate,
 * and Debian's Chromium. Charts and the inbox change through the stream, not by asking again;
 * a patient outside the clinician's care team stays closed until break-glass with a reason.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { buildWeb } from '../scripts/build-web.ts';
import { enrollDevice } from '../src/devices/enroll-client.ts';
import {
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
const PATIENT = 'p-ward-2';
const DEVICE = 'ox-ward-2';
const FOREIGN = 'p-other-ward';
const FOREIGN_DEVICE = 'ox-other-ward';
const MINUTE = 60_000;

type Reading = { code: string; value: number; unit: string; ts?: string };

describe('clinician dashboard, live, in Chromium', { timeout: 240_000 }, () => {
  let h: Harness;
  let browser: Browser;
  let device: MqttClient;
  let foreignDevice: MqttClient;
  const seqs = new Map<MqttClient, number>();
  const problems: string[] = [];
  const clinician = { username: 'dr.live', password: 'vigil-e2e-clinician-4b8e1d', secret: '' };
  let statePath = '';

  const publish = async (client: MqttClient, id: string, readings: Reading[]) => {
    const seq = (seqs.get(client) ?? Date.now()) + 1;
    seqs.set(client, seq);
    assert.equal(await publishQos1(client, `v1/devices/${id}/telemetry`, telemetry(seq, readings)), 0);
  };

  before(async () => {
    await buildWeb();
    h = await startHarness();
    device = await h.connect(await h.enrol(DEVICE, PATIENT), DEVICE);
    // The other ward's patient: registered and measured, but on no care team of this clinician.
    await h.vigil.patients.add(FOREIGN, { name: 'Other ward' });
    await h.vigil.devices.add({ id: FOREIGN_DEVICE, model: 'TestOx', serial: 'SN-other' });
    await h.vigil.devices.assign(FOREIGN_DEVICE, FOREIGN, Date.now() - 3_600_000);
    const { token } = await h.vigil.devices.createEnrollmentToken(FOREIGN_DEVICE, 600);
    const foreignCreds = await enrollDevice({
      serverUrl: h.baseUrl,
      caPem: h.caPem,
      deviceId: FOREIGN_DEVICE,
      token,
    });
    foreignDevice = await h.connect(foreignCreds, FOREIGN_DEVICE);

    // Half an hour, a reading a minute: heart rate with one reading 10 s after another that no
    // heart can reach (a questionable jump), SpO2 steady, glucose rising 1.5 mg/dL/min lately.
    const now = Date.now();
    const at = (i: number, plusMs = 0) => new Date(now - (30 - i) * MINUTE + plusMs).toISOString();
    const minutes = Array.from({ length: 30 }, (_, i) => i);
    // Readings in time order: the data-quality check compares each with the one before it.
    await publish(
      device,
      DEVICE,
      minutes.flatMap((i) => [
        { code: HEART_RATE, value: 70 + (i % 7), unit: '/min', ts: at(i) },
        ...(i === 20 ? [{ code: HEART_RATE, value: 140, unit: '/min', ts: at(i, 10_000) }] : []),
      ]),
    );
    await publish(
      device,
      DEVICE,
      minutes.map((i) => ({ code: SPO2, value: 96 + (i % 3), unit: '%', ts: at(i) })),
    );
    await publish(
      device,
      DEVICE,
      minutes.map((i) => ({
        code: GLUCOSE,
        value: i < 15 ? 110 : 110 + 1.5 * (i - 15),
        unit: 'mg/dL',
        ts: at(i),
      })),
    );
    await publish(foreignDevice, FOREIGN_DEVICE, [{ code: HEART_RATE, value: 64, unit: '/min' }]);

    // A clinician with TOTP already enrolled (set up through the store, not the UI), on the ward.
    clinician.secret = await userWithTotp(h.vigil.access.users, {
      username: clinician.username,
      role: 'clinician',
      password: clinician.password,
    });
    const members = await h.api('/api/v1/care-teams/harness-ward/members', {
      method: 'PUT',
      body: { members: ['test-clinician', clinician.username] },
    });
    assert.equal(members.status, 200, members.text);
    browser = await launchChromium();
    const context = await newContext(browser);
    const page = await context.newPage();
    watchPage(page, problems);
    await signIn(page, h.baseUrl, clinician.username, clinician.password, clinician.secret);
    statePath = `${h.dataDir}/live-clinician-state.json`;
    await context.storageState({ path: statePath });
    await context.close();
  });

  after(async () => {
    await browser?.close();
    device?.end(true);
    foreignDevice?.end(true);
    await h?.stop();
  });

  const open = async (path: string, viewport = { width: 1280, height: 860 }): Promise<Page> => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, storageState: statePath, viewport });
    const page = await context.newPage();
    watchPage(page, problems);
    await page.goto(`${h.baseUrl}${path}`);
    return page;
  };
  const liveIndicator = (page: Page) => page.getByRole('status').filter({ hasText: 'Live' });

  it('lists the ward with latest vitals and trend arrows read out in words', async () => {
    const page = await open('/patients');
    const row = page.getByRole('row', { name: new RegExp(PATIENT) });
    const vital = (label: string) => row.getByRole('listitem').filter({ hasText: label });
    await vital('Glucose')
      .getByText(/trend rising, \+1\.\d mg\/dL per minute/)
      .waitFor();
    await vital('Heart rate')
      .getByText(/trend (steady|rising|falling)/)
      .waitFor();
    assert.equal(await page.getByRole('row', { name: new RegExp(FOREIGN) }).count(), 0);
    await liveIndicator(page).waitFor();
    await page.waitForLoadState('networkidle');
    await publish(device, DEVICE, [{ code: SPO2, value: 94, unit: '%' }]);
    await row.getByText('94 %').waitFor();
    await screenshot(page, 'patients');
    await page.context().close();
  });

  it('adds the point a device just published to the chart through the stream, without asking again', async () => {
    const page = await open(`/patients/${PATIENT}`);
    const chart = page.getByRole('figure', { name: 'Heart rate chart' });
    await chart.waitFor();
    await liveIndicator(page).waitFor();
    await page.waitForLoadState('networkidle');
    const before = Number(await chart.getAttribute('data-points'));
    assert.equal(before, 31);
    assert.equal(await chart.getAttribute('data-questionable'), '1');
    await chart.getByText(/1 questionable/).waitFor();
    const reads: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/observations')) reads.push(r.url());
    });
    await publish(device, DEVICE, [{ code: HEART_RATE, value: 88, unit: '/min' }]);
    await waitFor(
      async () => Number(await chart.getAttribute('data-points')),
      (n) => n === before + 1,
    );
    await chart.getByText('latest 88 /min').waitFor();
    assert.deepEqual(reads, [], 'the new point came over the stream, not from a new observations read');
    await page
      .getByRole('figure', { name: 'Glucose chart' })
      .getByText(/trend rising/)
      .waitFor();
    await screenshot(page, 'patient-chart');
    await page.setViewportSize({ width: 820, height: 1180 });
    await screenshot(page, 'patient-chart-tablet');
    await page.context().close();
  });

  it('shows a new alert in the open inbox as it is raised', async () => {
    const page = await open('/alerts');
    await liveIndicator(page).waitFor();
    await page.getByRole('heading', { name: 'Alert inbox' }).waitFor();
    await page.waitForLoadState('networkidle');
    const reads: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/v1/alerts')) reads.push(r.url());
    });
    // A fresh CGM on the same patient: its first reading has no predecessor it could jump from
    // (a jump from the oximeter's rising glucose history would be marked questionable, not alerted).
    const cgm = await h.connect(await h.enrol('cgm-ward-2', PATIENT), 'cgm-ward-2');
    await publish(cgm, 'cgm-ward-2', [{ code: GLUCOSE, value: 45, unit: 'mg/dL' }]);
    cgm.end(true);
    await page
      .getByRole('listitem', { name: 'urgent alert: Glucose urgently low' })
      .waitFor({ timeout: 15_000 });
    assert.deepEqual(reads, [], 'the alert came over the stream');
    await page.context().close();
  });

  it('keeps a foreign patient closed, also by typed URL, until break-glass with a reason', async () => {
    const page = await open(`/patients/${FOREIGN}`);
    await page.getByRole('heading', { name: "You are not on this patient's care team" }).waitFor();
    assert.equal(await page.getByRole('figure').count(), 0);
    await page.getByRole('button', { name: 'Emergency access' }).click();
    const reason = page.getByRole('textbox', { name: 'Reason for emergency access' });
    await reason.fill('too short');
    const go = page.getByRole('button', { name: 'Open with emergency access' });
    assert.equal(await go.isDisabled(), true);
    await reason.fill('collapsed in the corridor, own ward team unreachable');
    await screenshot(page, 'break-glass');
    await go.click();
    await page.getByRole('figure', { name: 'Heart rate chart' }).waitFor();
    // The date comes first when the access ends tomorrow (a run late in the day).
    await page
      .getByText(/Emergency access · ends (\d{4}-\d\d-\d\d )?\d\d:\d\d \(UTC[+-]\d\d:\d\d\)/)
      .waitFor();
    await screenshot(page, 'patient-break-glass');
    const events = await h.api('/api/v1/security/events?code=VIGIL_ERR_BREAK_GLASS');
    assert.equal(events.status, 200, events.text);
    const list = (events.json as { events: Array<{ detail: string }> }).events;
    assert.ok(
      list.some((e) => e.detail.includes(clinician.username) && e.detail.includes(FOREIGN)),
      JSON.stringify(list),
    );
    await page.context().close();
  });

  it('marks the patient opened by break-glass on the list, with when that access ends', async () => {
    const page = await open('/patients');
    const foreign = page.getByRole('row', { name: new RegExp(FOREIGN) });
    const marker = foreign.getByTitle(/^Break-glass access/);
    await marker.waitFor();
    // The end shown is the grant's, as the server keeps it, in the browser's zone.
    const grant = await h.vigil.store.db
      .selectFrom('break_glass')
      .select('expires_ms')
      .where('patient_id', '=', FOREIGN)
      .executeTakeFirstOrThrow();
    const shown = await page.evaluate((ms) => {
      const d = new Date(ms);
      return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
    }, grant.expires_ms);
    // (With the date before the time when the access ends after midnight.)
    assert.match(
      String(await marker.textContent()),
      new RegExp(`^⚠Emergency access · ends (\\S+ )?${shown}$`),
    );
    assert.match(
      String(await marker.getAttribute('title')),
      /ends \d{4}-\d\d-\d\d \d\d:\d\d UTC[+-]\d\d:\d\d$/,
    );
    const own = page.getByRole('row', { name: new RegExp(PATIENT) });
    assert.equal(await own.getByText(/Emergency access/).count(), 0, 'a care-team patient carries no marker');
    await page.waitForLoadState('networkidle');
    const path = await screenshot(page, 'patients-break-glass');
    process.stdout.write(`# screenshot ${path}\n`);
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, 'patients-break-glass-phone');
    await page.context().close();
  });

  it('offers the same emergency access for a patient id that names nobody, and says so after the reason', async () => {
    const page = await open('/patients/p-no-such-patient');
    await page.getByRole('heading', { name: "You are not on this patient's care team" }).waitFor();
    await page.getByRole('button', { name: 'Emergency access' }).click();
    await page
      .getByRole('textbox', { name: 'Reason for emergency access' })
      .fill('wristband reads this id, no record comes up on the ward');
    await page.getByRole('button', { name: 'Open with emergency access' }).click();
    await page.getByRole('alert').getByText('patient p-no-such-patient is not registered').waitFor();
    assert.equal(await page.getByRole('figure').count(), 0);
    await page.context().close();
  });

  it('logged no CSP violation or script error on any page', () => {
    assert.deepEqual(problems, []);
  });
});
