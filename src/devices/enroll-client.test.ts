import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../errors/catalogue.ts';
import {
  createDeviceCa,
  createDeviceKeyAndCsr,
  type DeviceCa,
  issueServerCertificate,
  signDeviceCsr,
} from '../pki/index.ts';
import { deviceIdOf, enrollDevice } from './enroll-client.ts';

describe('deviceIdOf (the device side reads its own certificate file)', () => {
  it('reads the CN of the leaf of an issued chain', async () => {
    const ca = await createDeviceCa({ organization: 'Vigil test' });
    const { csrPem } = await createDeviceKeyAndCsr('ox-042');
    const signed = await signDeviceCsr(ca, csrPem, 'ox-042');
    assert.equal(deviceIdOf(`${signed.certificatePem}${signed.chainPem}`), 'ox-042');
    // The issuing CA's certificate names no device.
    assert.throws(
      () => deviceIdOf(ca.issuing.certPem),
      (e) => isVigilError(e),
    );
  });

  it('answers any other file with a VigilError, never a crash', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.base64String().map((b) => `-----BEGIN CERTIFICATE-----\n${b}\n-----END CERTIFICATE-----\n`),
        ),
        (text) => {
          try {
            deviceIdOf(text);
            assert.fail('a device id from a file that is no certificate');
          } catch (e) {
            assert.ok(isVigilError(e), String(e));
          }
        },
      ),
    );
  });
});

describe('enrollDevice against a server that pauses enrolment', () => {
  /** An HTTPS server trusted through a test CA, answering each POST with the next of `answers`. */
  async function pausingServer(
    answers: Array<(ca: DeviceCa, csr: string) => Promise<[number, object, string?]>>,
  ) {
    const ca = await createDeviceCa({ organization: 'Vigil test' });
    const tlsPair = await issueServerCertificate(ca, ['127.0.0.1']);
    let asked = 0;
    const server = createServer(
      { key: tlsPair.keyPkcs8Pem, cert: `${tlsPair.certPem}${tlsPair.chainPem}` },
      (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', async () => {
          const { csr } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { csr: string };
          const answer = answers[Math.min(asked++, answers.length - 1)]!;
          const [status, body, retryAfter] = await answer(ca, csr);
          res.writeHead(status, {
            'content-type': 'application/json',
            ...(retryAfter ? { 'retry-after': retryAfter } : {}),
          });
          res.end(JSON.stringify(body));
        });
      },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    return { ca, url: `https://127.0.0.1:${port}`, asked: () => asked, close: () => server.close() };
  }
  const paused = async (): Promise<[number, object, string]> => [
    429,
    { code: 'VIGIL_ERR_ENROLL_THROTTLED', detail: 'paused; try again in 1 s' },
    '1',
  ];
  const issue = async (ca: DeviceCa, csr: string): Promise<[number, object]> => {
    const signed = await signDeviceCsr(ca, csr, 'ox-042');
    return [200, { certificate: signed.certificatePem, chain: signed.chainPem }];
  };

  it('waits out a 429 with Retry-After and enrols on the next try', async () => {
    const server = await pausingServer([paused, issue]);
    try {
      const waits: number[] = [];
      const creds = await enrollDevice({
        serverUrl: server.url,
        caPem: server.ca.root.certPem,
        deviceId: 'ox-042',
        token: 't',
        onPause: (s) => waits.push(s),
      });
      assert.equal(deviceIdOf(creds.certPem), 'ox-042');
      assert.deepEqual(waits, [1]);
      assert.equal(server.asked(), 2);
    } finally {
      server.close();
    }
  });

  it('gives up after two waits with the server\'s own code, not "bad token"', async () => {
    const server = await pausingServer([paused]);
    try {
      await assert.rejects(
        enrollDevice({
          serverUrl: server.url,
          caPem: server.ca.root.certPem,
          deviceId: 'ox-042',
          token: 't',
        }),
        (e) => isVigilError(e) && e.code === 'VIGIL_ERR_ENROLL_THROTTLED',
      );
      assert.equal(server.asked(), 3);
    } finally {
      server.close();
    }
  });
});
