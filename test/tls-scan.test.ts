/**
 * Transport security checked from outside with a real scanner (nmap's ssl-enum-ciphers, from
 * Debian): both listeners offer TLS 1.2 and 1.3 only, forward-secret AEAD suites only, all
 * graded A; HTTPS answers with HSTS.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type Harness, startHarness } from './support/vigil-harness.ts';

const run = promisify(execFile);

async function scan(port: number): Promise<string> {
  // "+" runs the script although nmap does not recognise the random port as a TLS service.
  const { stdout } = await run(
    'nmap',
    ['-Pn', '-p', String(port), '--script', '+ssl-enum-ciphers', '127.0.0.1'],
    {
      timeout: 120_000,
    },
  );
  return stdout;
}

function assertStrong(report: string, what: string): void {
  assert.match(report, /ssl-enum-ciphers/, `${what}: nmap produced no cipher report:\n${report}`);
  assert.match(report, /TLSv1\.2:/, `${what} offers TLS 1.2`);
  assert.match(report, /TLSv1\.3:/, `${what} offers TLS 1.3`);
  assert.doesNotMatch(report, /SSLv3|TLSv1\.0|TLSv1\.1/, `${what} offers an obsolete protocol`);
  const ciphers = report.split('\n').filter((l) => /TLS_\w+ \(/.test(l));
  assert.ok(ciphers.length >= 3, `${what}: ciphers found:\n${report}`);
  for (const line of ciphers) {
    assert.match(line, /- A\s*$/, `${what}: cipher below grade A: ${line.trim()}`);
    assert.match(line, /ECDHE|TLS_AKE/, `${what}: cipher without forward secrecy: ${line.trim()}`);
    assert.match(line, /GCM|CHACHA20_POLY1305/, `${what}: non-AEAD cipher: ${line.trim()}`);
  }
  assert.match(report, /least strength: A/);
}

describe('TLS as a scanner sees it', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.stop();
  });

  it('HTTPS offers TLS 1.2/1.3 with grade-A AEAD suites only, and HSTS', async () => {
    assertStrong(await scan(h.vigil.httpPort), 'HTTPS');
    const res = await h.api('/healthz');
    assert.match(String(res.headers['strict-transport-security']), /max-age=\d{7,}/);
  });

  it('MQTT over TLS offers the same', async () => {
    assertStrong(await scan(h.vigil.mqttPort), 'MQTT');
  });
});
