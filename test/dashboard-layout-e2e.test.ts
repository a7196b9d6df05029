/**
 * Layout and focus measured in a real browser (Debian's Chromium), where jsdom cannot: the
 * header's keyboard focus ring, tables holding very long ids, data tables on a 390 px phone,
 * and a mistyped dashboard address.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildWeb } from '../scripts/build-web.ts';
import type { Role } from '../src/access/roles.ts';
import { launchChromium, newContext, signIn, userWithTotp, watchPage } from './dashboard-browser.ts';
import { type Harness, publishQos1, startHarness, telemetry } from './support/vigil-harness.ts';

/** The longest ids Vigil accepts (64 characters), and a model and serial of 100. */
const LONG_DEVICE = `infusion-pump-ward3-bed12-${'0'.repeat(38)}`;
const LONG_PATIENT = `pat-2026-${'0'.repeat(54)}1`;
const LONG_MODEL = `BD Alaris 8100 Large Volume Infusion Pump Module ${'X'.repeat(51)}`;
const LONG_SERIAL = `SN-${'0'.repeat(97)}`;
const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };

/** The focused element's outline, when focus is in the header (browser-side, as a string: no DOM types here). */
const FOCUSED_IN_HEADER = `(() => {
  const e = document.activeElement;
  if (!e || !e.closest('header.topbar')) return null;
  const s = getComputedStyle(e);
  return {
    name: (e.textContent || '').trim(),
    colour: s.outlineColor,
    style: s.outlineStyle,
    widthPx: Number.parseFloat(s.outlineWidth),
  };
})()`;

interface Ring {
  name: string;
  colour: string;
  style: string;
  widthPx: number;
}

interface Person {
  username: string;
  password: string;
  secret: string;
}

/** WCAG 2.2 relative luminance contrast of two CSS rgb()/rgba() colours (alpha ignored). */
function contrast(a: string, b: string): number {
  const luminance = (css: string) => {
    const [r, g, bl] = (css.match(/[\d.]+/g) ?? []).slice(0, 3).map((v) => {
      const c = Number(v) / 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (bl ?? 0);
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return ((hi ?? 0) + 0.05) / ((lo ?? 0) + 0.05);
}

describe('dashboard layout in Chromium', { timeout: 240_000 }, () => {
  let h: Harness;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];
  const people = new Map<Role, Person>();

  async function person(role: Role): Promise<Person> {
    const known = people.get(role);
    if (known) return known;
    const who = { username: `layout.${role}`, password: `vigil-e2e-${role}-passphrase-9d2f`, secret: '' };
    who.secret = await userWithTotp(h.vigil.access.users, { ...who, role });
    people.set(role, who);
    return who;
  }

  const pages = new Map<Role, { page: Page; seen: string[] }>();

  /**
   * The role's signed-in page, resized (one sign-in per person: a TOTP code counts once). The
   * browser logs every 4xx answer: the 401 to /auth/me before sign-in is by design, and so is
   * the 404 of the test that opens a page that is not there.
   */
  async function pageAs(role: Role, viewport: { width: number; height: number }): Promise<Page> {
    let open = pages.get(role);
    if (!open) {
      const who = await person(role);
      const context = await newContext(browser, viewport);
      contexts.push(context);
      const page = await context.newPage();
      open = { page, seen: watchPage(page) };
      pages.set(role, open);
      await signIn(page, h.baseUrl, who.username, who.password, who.secret);
    }
    await open.page.setViewportSize(viewport);
    return open.page;
  }

  async function openScreen(page: Page, path: string, heading: string | RegExp) {
    await page.goto(`${h.baseUrl}${path}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  }

  before(async () => {
    await buildWeb();
    h = await startHarness();
    await h.vigil.patients.add(LONG_PATIENT, { name: 'Long Id Patient' });
    await h.vigil.devices.add({ id: LONG_DEVICE, model: LONG_MODEL, serial: LONG_SERIAL });
    await h.vigil.devices.assign(LONG_DEVICE, LONG_PATIENT, Date.now() - 3_600_000);
    // Readings give the patient list its trend arrows, whose words are for screen readers only.
    const device = await h.connect(await h.enrol('ox-layout-1', 'p-layout-1'), 'ox-layout-1');
    const minutes = Array.from({ length: 20 }, (_, i) => i);
    const readings = minutes.map((i) => ({
      code: '8867-4',
      value: 70 + i,
      unit: '/min',
      ts: new Date(Date.now() - (20 - i) * 60_000).toISOString(),
    }));
    assert.equal(await publishQos1(device, 'v1/devices/ox-layout-1/telemetry', telemetry(1, readings)), 0);
    await h.vigil.alerts.idle();
    const clinician = await person('clinician');
    const team = await h.api('/api/v1/care-teams/harness-ward/members', {
      method: 'PUT',
      body: { members: ['test-clinician', clinician.username] },
    });
    assert.equal(team.status, 200, team.text);
    await h.care(LONG_PATIENT);
    // An audit entry naming the long patient id, as the audit log shows it.
    const read = await h.api(`/api/v1/patients/${LONG_PATIENT}/observations`, { token: h.clinicianToken });
    assert.equal(read.status, 200, read.text);
    browser = await launchChromium();
  });

  after(async () => {
    const unexpected = [...pages.values()].flatMap(({ seen }) =>
      seen.filter((p) => !/status of 401/.test(p)),
    );
    // The one 404 is the mistyped address the last test opens on purpose.
    const notFound = unexpected.findIndex((p) => /status of 404/.test(p));
    if (notFound >= 0) unexpected.splice(notFound, 1);
    problems.push(...unexpected);
    for (const c of contexts) await c.close();
    await browser?.close();
    await h?.stop();
    assert.deepEqual(problems, [], 'no console errors or CSP violations');
  });

  it('draws a keyboard focus ring in the header that stands out from the header', async () => {
    const page = await pageAs('admin', DESKTOP);
    await openScreen(page, '/fleet', 'Device fleet');
    const header = await page.evaluate<string>(
      "getComputedStyle(document.querySelector('header.topbar')).backgroundColor",
    );
    const rings: Ring[] = [];
    // Tab from the top of the page through every link and button of the header.
    await page.locator('body').focus();
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate<Ring | null>(FOCUSED_IN_HEADER);
      if (focused) rings.push(focused);
      else if (rings.length > 0) break;
    }
    assert.ok(
      rings.some((r) => r.name === 'Fleet') && rings.some((r) => r.name === 'Sign out'),
      JSON.stringify(rings),
    );
    for (const r of rings) {
      assert.equal(r.style, 'solid', r.name);
      assert.ok(r.widthPx >= 2, `${r.name}: outline ${r.widthPx}px`);
      // WCAG 2.2 (2.4.11/2.4.13): the ring contrasts at least 3:1 with what it sits on.
      assert.ok(contrast(r.colour, header) >= 3, `${r.name}: ring ${r.colour} on header ${header}`);
    }
  });

  it('keeps the fleet table within the page when a device has very long ids', async () => {
    const page = await pageAs('admin', DESKTOP);
    await openScreen(page, '/fleet', 'Device fleet');
    await page.getByText(LONG_MODEL).waitFor();
    const size = await page.evaluate<{
      mainScroll: number;
      mainClient: number;
      tableRight: number;
      mainRight: number;
      page: number;
    }>(`(() => {
      const main = document.querySelector('main');
      return {
        mainScroll: main.scrollWidth,
        mainClient: main.clientWidth,
        tableRight: document.querySelector('table.data').getBoundingClientRect().right,
        mainRight: main.getBoundingClientRect().right,
        page: document.documentElement.scrollWidth,
      };
    })()`);
    assert.ok(size.mainScroll <= size.mainClient, JSON.stringify(size));
    assert.ok(size.tableRight <= size.mainRight, JSON.stringify(size));
    assert.ok(size.page <= DESKTOP.width, JSON.stringify(size));
    const action = page.getByRole('button', { name: `Quarantine ${LONG_DEVICE}` });
    const box = await action.boundingBox();
    assert.ok(box && box.x + box.width <= DESKTOP.width, 'the last column stays on screen');
  });

  it('keeps a long patient id inside its care-team card', async () => {
    const page = await pageAs('admin', DESKTOP);
    await openScreen(page, '/care-teams', 'Care teams');
    const card = page.getByRole('article', { name: /Harness ward/ });
    const id = card.getByText(LONG_PATIENT, { exact: true });
    const [cardBox, idBox] = [await card.boundingBox(), await id.boundingBox()];
    assert.ok(cardBox && idBox, 'card and id are drawn');
    assert.ok(idBox.x + idBox.width <= cardBox.x + cardBox.width, JSON.stringify({ cardBox, idBox }));
  });

  it('does not squeeze the audit log into a column of single letters', async () => {
    const page = await pageAs('security', DESKTOP);
    await openScreen(page, '/audit', 'Audit log');
    await page.locator('table.data tbody tr').first().waitFor();
    // The sixth column is Resource (#, Time, Actor, Action, Patient, Resource, Outcome).
    const widths = await page.evaluate<{
      mainScroll: number;
      mainClient: number;
      narrowestResourcePx: number;
    }>(`(() => {
      const main = document.querySelector('main');
      const cells = [...document.querySelectorAll('table.data tbody td:nth-child(6)')];
      return {
        mainScroll: main.scrollWidth,
        mainClient: main.clientWidth,
        narrowestResourcePx: Math.min(...cells.map((c) => c.getBoundingClientRect().width)),
      };
    })()`);
    assert.ok(widths.mainScroll <= widths.mainClient, JSON.stringify(widths));
    assert.ok(widths.narrowestResourcePx >= 100, JSON.stringify(widths));
  });

  for (const [role, path, heading] of [
    ['clinician', '/patients', 'My patients'],
    ['admin', '/fleet', 'Device fleet'],
    ['admin', '/users', 'Users and roles'],
  ] as const) {
    it(`shows ${path} on a 390 px phone without the page scrolling sideways`, async () => {
      const page = await pageAs(role, PHONE);
      await openScreen(page, path, heading);
      await page.locator('table.data tbody tr').first().waitFor();
      const size = await page.evaluate<{ page: number; table: number }>(`({
        page: document.documentElement.scrollWidth,
        table: document.querySelector('table.data').getBoundingClientRect().width,
      })`);
      assert.ok(size.page <= PHONE.width, `${path}: ${JSON.stringify(size)}`);
      assert.ok(size.table <= PHONE.width, `${path}: ${JSON.stringify(size)}`);
    });
  }

  it('answers a mistyped dashboard address with "Page not found" and a way home', async () => {
    const page = await pageAs('admin', DESKTOP);
    const response = await page.goto(`${h.baseUrl}/no-such-screen`);
    assert.equal(response?.status(), 404, 'still a 404 for the address itself');
    await page.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
    await page.getByRole('link', { name: 'Go to the start page' }).click();
    await page.getByRole('heading', { level: 1, name: 'Device fleet' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/fleet');
  });
});
