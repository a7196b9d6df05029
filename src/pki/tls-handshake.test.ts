/**
 * The certificates this module makes, in real Node TLS handshakes on loopback: mutual
 * authentication as the MQTT and HTTPS listeners use it, and the refusals that matter.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import type { DeviceCa } from './ca-types.ts';
import { createDeviceCa } from './certificate-authority.ts';
import { certificateInfo, normalizeSerial } from './certificate-info.ts';
import { signDeviceCsr } from './csr-signing.ts';
import { createDeviceKeyAndCsr } from './device-credentials.ts';
import { openssl, scratchDir } from './pki-test-support.ts';
import { issueServerCertificate } from './server-certificate.ts';

interface Credentials {
  cert: string;
  key: string;
}

interface Outcome {
  /** What the server saw of the client, when the handshake completed on its side. */
  server?: { isAuthorized: boolean; authorizationError: unknown; serialNumber: string; commonName: unknown };
  serverError?: Error;
  isClientAuthorized?: boolean;
  clientError?: Error;
}

/** One handshake between a Vigil-style server (client certificate required) and a device. */
async function handshake(opts: {
  serverCredentials: Credentials;
  trustedByServer: string[];
  device: Credentials;
  trustedByDevice: string;
  host: string;
  servername?: string;
  /** Let the handshake finish despite a bad client certificate, to read why it is bad. */
  isServerLenient?: boolean;
}): Promise<Outcome> {
  const outcome: Outcome = {};
  const server = tls.createServer({
    ...opts.serverCredentials,
    ca: opts.trustedByServer,
    requestCert: true,
    rejectUnauthorized: opts.isServerLenient !== true,
    minVersion: 'TLSv1.2',
  });
  const serverDone = new Promise<void>((resolve) => {
    server.once('secureConnection', (socket) => {
      const peer = socket.getPeerCertificate();
      outcome.server = {
        isAuthorized: socket.authorized,
        authorizationError: socket.authorizationError,
        serialNumber: peer.serialNumber,
        commonName: peer.subject?.CN,
      };
      socket.end(resolve);
    });
    server.once('tlsClientError', (error) => {
      outcome.serverError = error;
      resolve();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, opts.host, resolve));
  const { port } = server.address() as AddressInfo;
  const clientDone = new Promise<void>((resolve) => {
    const socket = tls.connect({
      host: opts.host,
      port,
      ...(opts.servername === undefined ? {} : { servername: opts.servername }),
      ...opts.device,
      ca: opts.trustedByDevice,
    });
    socket.once('secureConnect', () => {
      outcome.isClientAuthorized = socket.authorized;
    });
    socket.once('error', (error) => {
      outcome.clientError = error;
    });
    socket.once('close', () => resolve());
    socket.resume();
  });
  await Promise.all([serverDone, clientDone]);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return outcome;
}

async function enrolledDevice(
  ca: DeviceCa,
  deviceId: string,
): Promise<Credentials & { serialHex: string; chain: string }> {
  const { keyPkcs8Pem, csrPem } = await createDeviceKeyAndCsr(deviceId);
  const signed = await signDeviceCsr(ca, csrPem, deviceId);
  return {
    cert: signed.certificatePem,
    key: keyPkcs8Pem,
    serialHex: signed.serialHex,
    chain: signed.chainPem,
  };
}

function hasIpv6Loopback(): boolean {
  return Object.values(networkInterfaces()).some((addresses) => addresses?.some((a) => a.address === '::1'));
}

describe('certificates in Node TLS handshakes', { timeout: 30_000 }, () => {
  let ca: DeviceCa;
  let rogueCa: DeviceCa;
  let serverCredentials: Credentials;
  let trustedByServer: string[];
  before(async () => {
    [ca, rogueCa] = await Promise.all([
      createDeviceCa({ organization: 'Vigil' }),
      createDeviceCa({ organization: 'Vigil' }),
    ]);
    const server = await issueServerCertificate(ca, ['localhost', '127.0.0.1', '::1']);
    serverCredentials = { cert: `${server.certPem}${server.chainPem}`, key: server.keyPkcs8Pem };
    trustedByServer = [ca.root.certPem, ca.issuing.certPem];
  });

  it('authenticates device and server to each other by name (localhost)', async () => {
    const device = await enrolledDevice(ca, 'pump-7');
    const outcome = await handshake({
      serverCredentials,
      trustedByServer,
      device,
      trustedByDevice: ca.root.certPem,
      host: '127.0.0.1',
      servername: 'localhost',
    });
    assert.equal(outcome.clientError, undefined);
    assert.equal(outcome.isClientAuthorized, true);
    assert.equal(outcome.server?.isAuthorized, true);
    assert.equal(outcome.server?.commonName, 'pump-7');
    assert.equal(normalizeSerial(outcome.server?.serialNumber ?? ''), device.serialHex);
  });

  it('verifies the server by its IP address SAN at 127.0.0.1, device sending its chain', async () => {
    const device = await enrolledDevice(ca, 'pump-7');
    const outcome = await handshake({
      serverCredentials,
      trustedByServer,
      device: { cert: `${device.cert}${device.chain}`, key: device.key },
      trustedByDevice: ca.root.certPem,
      host: '127.0.0.1',
    });
    assert.equal(outcome.clientError, undefined);
    assert.equal(outcome.isClientAuthorized, true);
    assert.equal(outcome.server?.isAuthorized, true);
  });

  it('verifies the server at ::1 by its IPv6 SAN', {
    skip: !hasIpv6Loopback() && 'no IPv6 loopback here',
  }, async () => {
    const device = await enrolledDevice(ca, 'pump-7');
    const outcome = await handshake({
      serverCredentials,
      trustedByServer,
      device,
      trustedByDevice: ca.root.certPem,
      host: '::1',
    });
    assert.equal(outcome.clientError, undefined);
    assert.equal(outcome.isClientAuthorized, true);
    assert.equal(outcome.server?.isAuthorized, true);
  });

  it('lets the device refuse a server certificate that does not name the address it dialled', async () => {
    const nameOnly = await issueServerCertificate(ca, ['localhost']);
    const outcome = await handshake({
      serverCredentials: { cert: `${nameOnly.certPem}${nameOnly.chainPem}`, key: nameOnly.keyPkcs8Pem },
      trustedByServer,
      device: await enrolledDevice(ca, 'pump-7'),
      trustedByDevice: ca.root.certPem,
      host: '127.0.0.1',
    });
    assert.equal(
      (outcome.clientError as NodeJS.ErrnoException | undefined)?.code,
      'ERR_TLS_CERT_ALTNAME_INVALID',
    );
    assert.equal(outcome.server, undefined);
  });

  it('refuses a device certificate from an unrelated CA, even with its own chain', async () => {
    const rogue = await enrolledDevice(rogueCa, 'pump-7');
    const strictFor = (cert: string) => ({
      serverCredentials,
      trustedByServer,
      device: { cert, key: rogue.key },
      trustedByDevice: ca.root.certPem,
      host: '127.0.0.1',
      servername: 'localhost',
    });
    for (const cert of [rogue.cert, `${rogue.cert}${rogue.chain}`]) {
      const outcome = await handshake(strictFor(cert));
      assert.equal(outcome.server, undefined, 'the server must not complete a handshake with a rogue device');
      assert.ok(outcome.serverError, 'the server reports the refused client');
      const lenient = await handshake({ ...strictFor(cert), isServerLenient: true });
      assert.equal(lenient.server?.isAuthorized, false);
      assert.match(
        String(lenient.server?.authorizationError),
        /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)$/,
      );
    }
  });

  it('lets the device refuse a server whose certificate comes from an unrelated CA', async () => {
    const rogueServer = await issueServerCertificate(rogueCa, ['localhost']);
    const outcome = await handshake({
      serverCredentials: {
        cert: `${rogueServer.certPem}${rogueServer.chainPem}`,
        key: rogueServer.keyPkcs8Pem,
      },
      trustedByServer,
      device: await enrolledDevice(ca, 'pump-7'),
      trustedByDevice: ca.root.certPem,
      host: '127.0.0.1',
      servername: 'localhost',
    });
    assert.ok(outcome.clientError, 'the device refuses the rogue server');
    assert.notEqual(outcome.isClientAuthorized, true);
    assert.equal(outcome.server, undefined);
  });

  it('refuses the server certificate presented as a device certificate (EKU serverAuth only)', async () => {
    const strict = {
      serverCredentials,
      trustedByServer,
      device: serverCredentials,
      trustedByDevice: ca.root.certPem,
      host: '127.0.0.1',
      servername: 'localhost',
    };
    const outcome = await handshake(strict);
    assert.equal(outcome.server, undefined);
    assert.ok(outcome.serverError);
    const lenient = await handshake({ ...strict, isServerLenient: true });
    assert.equal(lenient.server?.isAuthorized, false);
    assert.equal(lenient.server?.authorizationError, 'INVALID_PURPOSE');
  });

  describe('serial numbers as TLS reports them', () => {
    const dir = scratchDir();
    after(() => dir.remove());

    /** A client certificate from Vigil's issuing CA with a chosen serial, made by openssl. */
    function deviceWithSerial(serial: string): Credentials {
      const keyFile = dir.write(
        'device.key',
        openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']).stdout,
      );
      const csr = dir.write(
        'device.csr',
        openssl(['req', '-new', '-key', keyFile, '-subj', '/CN=pump-7']).stdout,
      );
      const ext = dir.write(
        'client.ext',
        'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
      );
      const made = openssl([
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        dir.write('ca.pem', ca.issuing.certPem),
        '-CAkey',
        dir.write('ca.key', ca.issuing.keyPkcs8Pem),
        '-set_serial',
        serial,
        '-days',
        '1',
        '-extfile',
        ext,
      ]);
      assert.ok(made.ok, made.stderr);
      return { cert: made.stdout, key: openssl(['pkey', '-in', keyFile]).stdout };
    }

    it('normalizes the peer serial to what certificateInfo read at enrollment', async () => {
      for (const serial of ['0x0A1B2C', '0x80FF00', '0x00FF', '0x4000000000000000000000000000000A']) {
        const device = deviceWithSerial(serial);
        const outcome = await handshake({
          serverCredentials,
          trustedByServer,
          device,
          trustedByDevice: ca.root.certPem,
          host: '127.0.0.1',
          servername: 'localhost',
        });
        const reported = outcome.server?.serialNumber ?? '';
        assert.equal(
          normalizeSerial(reported),
          certificateInfo(device.cert).serialHex,
          `${serial} reported as ${reported}`,
        );
        assert.equal(certificateInfo(device.cert).serialHex, BigInt(serial).toString(16));
      }
    });
  });
});
