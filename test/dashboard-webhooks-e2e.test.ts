import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildWeb } from '../scripts/build-web.ts';
import { WEBHOOK_EVENTS } from '../src/notify/webhooks-events.ts';
import { WEBHOOK_EVENTS as DASHBOARD_EVENTS } from '../web/src/lib/webhook-events.ts';
import {
  launchChromium,
  newContext,
  screenshot,
  signIn,
  userWithTotp,
  watchPage,
} from './dashboard-browser.ts';
import { until } from './support/until.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';
import { type Received, type Receiver, signatureValid, startReceiver } from './support/webhook-receiver.ts';

const DEVICE = 'ox-webhooks-e2e';

describe('the dashboard and the server agree on webhook events', () => {
  it('offers every event the server sends, in its order', () => {
    assert.deepEqual([...DASHBOARD_EVENTS], [...WEBHOOK_EVENTS]);
  });
});

/**
 * The Webhooks screen end to end: a real Vigil, Debian's Chromium and a receiver on loopback
 * that checks signatures with the secret the page showed once. The receiver refuses at first,
 * so the delivery is dead-lettered, and the Retry button on the page sends it again.
 */
describe('webhooks screen in Chromium', { timeout: 240_000 }, () => {
  let h: Harness;
  let receiver: Receiver;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: string[] = [];

  before(async () => {
    await buildWeb();
    receiver = await startReceiver();
    h = await startHarness({
      // http:// to loopback is refused unless allowed; retries are quick so the dead letter comes soon.
      env: { VIGIL_WEBHOOKS_ALLOW_LOOPBACK_HTTP: 'true' },
      start: { notify: { retryBaseMs: 10, pollMs: 10 } },
    });
    const password = 'vigil-e2e-webhooks-passphrase-7e2a';
    const secret = await userWithTotp(h.vigil.access.users, {
      username: 'hooks.admin',
      role: 'admin',
      password,
    });
    browser = await launchChromium();
    context = await newContext(browser, { width: 1440, height: 900 });
    page = await context.newPage();
    await signIn(page, h.baseUrl, 'hooks.admin', password, secret);
    // Watched from here: before sign-in the browser logs the 401 to /auth/me, which is by design.
    problems = watchPage(page);
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await h?.stop();
    await receiver?.close();
  });

  it('an administrator subscribes a local receiver, retries a dead letter, and deletes the webhook', async (t) => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/webhooks');

    const form = page.getByRole('form', { name: 'Subscribe a URL' });
    await form.getByLabel(/^URL/).fill(receiver.url);
    await form.getByLabel(/^Description/).fill('ward pager bridge');
    await form.getByLabel('alert.raised').check();
    await form.getByLabel('device.quarantined').check();
    await form.getByRole('button', { name: 'Subscribe' }).click();

    const shown = page.getByRole('region', { name: 'Signing secret' });
    await shown.getByText('You will not see this again.').waitFor();
    const signingSecret = (await shown.getByTestId('one-time-secret').textContent())?.trim() ?? '';
    assert.match(signingSecret, /^whsec_/);
    const row = page
      .getByRole('table', { name: 'Webhook subscriptions' })
      .getByRole('row', { name: /ward pager/ });
    await row.getByText('No deliveries yet').waitFor();
    assert.match((await row.textContent()) ?? '', /alert\.raised.*device\.quarantined/);
    const list = await h.api('/api/v1/webhooks');
    const [stored] = (list.json as { webhooks: Array<{ id: string; url: string; events: string[] }> })
      .webhooks;
    assert.equal(stored?.url, receiver.url);
    assert.deepEqual(stored?.events, ['alert.raised', 'device.quarantined']);
    await shown.getByRole('button', { name: 'Done, hide it' }).click();
    assert.equal(await page.getByText(signingSecret).count(), 0, 'hidden for good once done');

    // The receiver refuses every attempt, so the quarantine's delivery ends as a dead letter.
    receiver.state.answer = () => 500;
    await h.enrol(DEVICE);
    const quarantine = await h.api(`/api/v1/devices/${DEVICE}/quarantine`, {
      method: 'POST',
      body: { reason: 'webhooks e2e' },
    });
    assert.equal(quarantine.status, 200, quarantine.text);
    const dead = page.getByRole('table', { name: `Dead letters to ${receiver.url}` });
    const deadRow = dead.getByRole('row', { name: /^device\.quarantined/ });
    await deadRow.getByText('answered 500').waitFor();
    await row.getByText('1 dead letter').waitFor();
    const shot = await screenshot(page, 'webhooks');
    t.diagnostic(`screenshot: ${shot}`);

    // Back up: Retry queues it again under the same webhook-id, and it goes through.
    receiver.state.answer = () => 204;
    const before = receiver.received.length;
    await deadRow.getByRole('button', { name: /^Retry/ }).click();
    const recent = page.getByRole('table', { name: `Recent deliveries to ${receiver.url}` });
    await recent
      .getByRole('row', { name: /^device\.quarantined/ })
      .getByText('Delivered')
      .waitFor();
    await row.getByText('Receiving').waitFor();
    const delivered: Received = await until('the retried delivery', () =>
      receiver.received.slice(before).find((r) => r.body.includes(DEVICE)),
    );
    assert.ok(signatureValid(signingSecret, delivered), 'signed with the secret the page showed');

    await row.getByRole('button', { name: /^Delete/ }).click();
    await row.getByRole('button', { name: /^Confirm delete/ }).click();
    await page.getByText('No webhooks yet').waitFor();
    const afterDelete = await h.api('/api/v1/webhooks');
    assert.deepEqual((afterDelete.json as { webhooks: unknown[] }).webhooks, []);
    assert.deepEqual(problems, []);
  });
});
