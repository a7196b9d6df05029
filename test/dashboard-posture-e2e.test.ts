import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { buildWeb } from '../scripts/build-web.ts';
import { AuditLog } from '../src/audit/audit-log.ts';
import { seedDemoPosture } from '../src/cli/demo-content.ts';
import {
  launchChromium,
  newContext,
  screenshot,
  signIn,
  userWithTotp,
  watchPage,
} from './dashboard-browser.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

/** The sim fleet's models and the firmware their devices report (as `vigil demo` runs them). */
const DEVICES = [
  { id: 'sim-cgm-001', model: 'SimCGM G7', firmware: '3.2.1' },
  { id: 'sim-pulse-oximeter-002', model: 'SimOx 300', firmware: '1.8.0' },
  { id: 'sim-bp-cuff-003', model: 'SimBP 5', firmware: '2.0.4' },
  { id: 'sim-thermometer-004', model: 'SimTemp 2', firmware: '1.1.7' },
];

/**
 * Fleet posture for the security officer, end to end: the demo's models, SBOMs and advisories
 * imported through the posture service into a real Vigil, read by Debian's Chromium under the
 * dashboard's strict CSP (the bar chart is SVG sized by attributes, never inline styles).
 */
describe('fleet posture in Chromium', { timeout: 240_000 }, () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    await buildWeb();
    h = await startHarness();
    for (const [i, d] of DEVICES.entries()) {
      await h.vigil.devices.add({ id: d.id, model: d.model, serial: `SN-POSTURE-${i}` });
      // What the device's status message would set (sim/device-runner.ts reports this firmware).
      await h.vigil.devices.updateStatus(d.id, { firmware: d.firmware, seenMs: Date.now() });
    }
    await seedDemoPosture(h.vigil.store.db, h.vigil.store.sqlite, new AuditLog(h.vigil.store.db));
    const password = 'vigil-e2e-security-passphrase-7e2a';
    const secret = await userWithTotp(h.vigil.access.users, {
      username: 'sec.officer',
      role: 'security',
      password,
    });
    browser = await launchChromium();
    const context = await newContext(browser);
    page = await context.newPage();
    watchPage(page, problems);
    await signIn(page, h.baseUrl, 'sec.officer', password, secret);
  });

  after(async () => {
    await browser?.close();
    await h?.stop();
  });

  it('the fleet shows each device’s risk in words, riskiest first', async () => {
    await page.getByRole('heading', { level: 1, name: 'Device fleet' }).waitFor();
    await page.getByRole('columnheader', { name: 'Risk' }).waitFor();
    const first = page.getByRole('row').nth(1);
    await first.getByText(/^\W*(Critical|High|Medium|Low) \d+$/).waitFor();
    assert.match((await first.textContent()) ?? '', /sim-cgm-001/);
    await screenshot(page, 'fleet');
  });

  it('the device page lists the findings and explains the score', async () => {
    await page.getByRole('link', { name: 'sim-cgm-001' }).click();
    const section = page.getByRole('region', { name: 'Security posture' });
    const findings = section.getByRole('table', { name: 'Findings' });
    for (const cve of ['CVE-2021-23337', 'CVE-2022-37434', 'CVE-2022-48174'])
      await findings.getByRole('row', { name: new RegExp(cve) }).waitFor();
    assert.match((await findings.textContent()) ?? '', /EPSS \d+\.\d%/);
    await section
      .getByRole('list', { name: 'Risk explanation' })
      .getByText(/worst finding scores/)
      .waitFor();
    await section.getByText('On file').waitFor();
    await screenshot(page, 'device-posture');
  });

  it('the posture screen draws devices by risk level, top findings and end of support', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Posture' }).click();
    await page.getByRole('heading', { level: 1, name: 'Fleet posture' }).waitFor();
    const chart = page.getByRole('img', { name: /^Devices by risk level:/ });
    await chart.waitFor();
    const bars = await chart
      .locator('rect')
      .evaluateAll((rects) => rects.map((r) => Number(r.getAttribute('width'))));
    assert.ok(
      bars.some((w) => w > 0),
      'at least one bar is drawn',
    );
    await page
      .getByRole('table', { name: 'Top findings' })
      .getByRole('row', { name: /CVE-2021-23337/ })
      .waitFor();
    const eos = page.getByRole('list', { name: 'Models past or near end of support' });
    await eos.getByText(/SimBP 5 \(1 device\): ended 200 days ago/).waitFor();
    await eos.getByText(/SimOx 300 \(1 device\): ends in 60 days/).waitFor();
    await screenshot(page, 'posture');
    assert.deepEqual(problems, [], 'no console errors or CSP refusals');
  });
});
