/**
 * Dashboard speed in headless Chromium, against references measured in the same run:
 * - first load: navigation to the sign-in form being visible (cold cache, fresh context each
 *   time) vs loading a tiny JSON page (/healthz) from the same server over the same TLS;
 * - bundle size: what the first load fetches (raw and gzip), and the lazily loaded rest;
 * - chart: uPlot drawing 100,000 points vs drawing 1,000 points.
 * Targets (issue 6): first load < 1 s on localhost; 100,000 points drawn < 200 ms.
 * Run alone: node --import tsx bench/dashboard.ts
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { buildWeb } from '../scripts/build-web.ts';
import { launchChromium, newContext } from '../test/dashboard-browser.ts';
import { startHarness } from '../test/support/vigil-harness.ts';

const RUNS = 7;
const dist = fileURLToPath(new URL('../web/dist/', import.meta.url));
const require = createRequire(import.meta.url);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

function bundleSizes() {
  const index = readFileSync(join(dist, 'index.html'), 'utf8');
  const initial = new Set([...index.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((m) => m[1]));
  const sum = { initialRaw: 0, initialGzip: 0, lazyRaw: 0, lazyGzip: 0 };
  for (const name of readdirSync(join(dist, 'assets'))) {
    if (!/\.(js|css)$/.test(name)) continue;
    const body = readFileSync(join(dist, 'assets', name));
    const gz = gzipSync(body, { level: 9 }).length;
    if (initial.has(`assets/${name}`)) {
      sum.initialRaw += statSync(join(dist, 'assets', name)).size;
      sum.initialGzip += gz;
    } else {
      sum.lazyRaw += body.length;
      sum.lazyGzip += gz;
    }
  }
  return sum;
}

/**
 * In-page time from navigation start until `ready` holds, median of RUNS loads with an empty
 * HTTP cache (a first visit from a browser that is already running; a brand-new profile adds
 * a few hundred ms of Chromium's own set-up to the reference and the dashboard alike).
 */
async function loadTimes(browser: Browser, url: string, ready: 'signin' | 'load'): Promise<number> {
  const context = await newContext(browser);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const times: number[] = [];
  for (let i = 0; i < RUNS + 1; i++) {
    await page.goto('about:blank');
    await cdp.send('Network.clearBrowserCache');
    await page.goto(url, { waitUntil: 'load' });
    if (ready === 'signin') await page.getByRole('heading', { name: 'Sign in to Vigil' }).waitFor();
    const ms = Number(await page.evaluate('performance.now()'));
    if (i > 0) times.push(ms); // the first run warms the server and the browser process
  }
  await context.close();
  return median(times);
}

/** Draws `n` points once per run on a blank page and returns the median constructor-to-drawn time. */
async function chartDrawTime(browser: Browser, n: number): Promise<number> {
  const context = await newContext(browser);
  const page = await context.newPage();
  await page.setContent('<div id="chart"></div>');
  await page.addStyleTag({ path: require.resolve('uplot/dist/uPlot.min.css') });
  await page.addScriptTag({ path: require.resolve('uplot/dist/uPlot.iife.min.js') });
  const script = `(async () => {
    const n = ${n};
    const xs = new Float64Array(n), ys = new Float64Array(n);
    const t0 = Date.now() / 1000 - n;
    for (let i = 0; i < n; i++) { xs[i] = t0 + i; ys[i] = 70 + 10 * Math.sin(i / 300) + (i % 17) / 4; }
    const times = [];
    for (let run = 0; run < ${RUNS + 1}; run++) {
      const el = document.getElementById('chart');
      let drawn;
      const done = new Promise((resolve) => { drawn = resolve; });
      const start = performance.now();
      const u = new uPlot({
        width: 1200, height: 300, scales: { x: { time: true } },
        series: [{}, { label: 'Heart rate', stroke: '#0072B2', width: 1.5, points: { show: false } }],
        hooks: { draw: [() => drawn(performance.now())] },
      }, [Array.from(xs), Array.from(ys)], el);
      const end = await done;
      if (run > 0) times.push(end - start);
      u.destroy();
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
  })()`;
  const ms = Number(await page.evaluate(script));
  await context.close();
  return ms;
}

async function main(): Promise<void> {
  await buildWeb();
  const sizes = bundleSizes();
  const h = await startHarness();
  const browser = await launchChromium();
  try {
    const blank = await loadTimes(browser, `${h.baseUrl}/healthz`, 'load');
    const dashboard = await loadTimes(browser, `${h.baseUrl}/`, 'signin');
    const small = await chartDrawTime(browser, 1_000);
    const large = await chartDrawTime(browser, 100_000);
    const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
    console.log('dashboard benchmark (headless Chromium, localhost, HTTPS)');
    console.log(`  bundle, first load     ${kib(sizes.initialRaw)} raw, ${kib(sizes.initialGzip)} gzip`);
    console.log(
      `  bundle, loaded later   ${kib(sizes.lazyRaw)} raw, ${kib(sizes.lazyGzip)} gzip (after sign-in: screens, charts, QR encoder)`,
    );
    console.log(
      `  reference: blank page  ${blank.toFixed(0)} ms (GET /healthz, median of ${RUNS}, empty cache)`,
    );
    console.log(
      `  first load to sign-in  ${dashboard.toFixed(0)} ms  (${(dashboard / blank).toFixed(1)}x blank)  target < 1000 ms: ${verdict(dashboard < 1000)}`,
    );
    console.log(`  reference: 1,000 pts   ${small.toFixed(1)} ms to draw (uPlot, median of ${RUNS})`);
    console.log(
      `  100,000 points drawn   ${large.toFixed(1)} ms  (${(large / small).toFixed(1)}x 1,000 points)  target < 200 ms: ${verdict(large < 200)}`,
    );
  } finally {
    await browser.close();
    await h.stop();
  }
}

await main();
