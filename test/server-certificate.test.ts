/**
 * Vigil's own TLS certificate through the server's life: a host named after `init` is covered
 * at the next start, a certificate near its end is reissued (at start, or while running, with
 * no open connection dropped), and an operator's own certificate files are reread when renewed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type PeerCertificate } from 'node:tls';
import pino from 'pino';
import { loadConfig, type VigilConfig } from '../src/config/config.ts';
import { KeyRing } from '../src/crypto/key-ring.ts';
import { loadMasterKeyFile } from '../src/crypto/master-key.ts';
import { loadDeviceCa, storeServerTls } from '../src/devices/device-ca.ts';
import { createDeviceCa, issueServerCertificate } from '../src/pki/index.ts';
import { initDataDir } from '../src/server/provision.ts';
import { startVigil } from '../src/server/vigil.ts';
import { openStore } from '../src/store/database.ts';
import { runVigil } from './support/cli-process.ts';
import { until } from './support/until.ts';
import { type Harness, publishQos1, startHarness, telemetry } from './support/vigil-harness.ts';

const DAY_MS = 86_400_000;
const silent = pino({ level: 'silent' });

/** The certificate a server presents, read without judging it. */
function presented(port: number, host = '127.0.0.1'): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, rejectUnauthorized: false, servername: 'localhost' }, () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.once('error', reject);
  });
}

/** Resolves when a client that checks the chain and the name accepts the server; rejects with why not. */
function verifies(
  port: number,
  caPem: string,
  opts: { host?: string; servername?: string; maxVersion?: 'TLSv1.1' } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      {
        host: opts.host ?? '127.0.0.1',
        port,
        ca: caPem,
        ...(opts.servername ? { servername: opts.servername } : {}),
        ...(opts.maxVersion ? { maxVersion: opts.maxVersion, minVersion: 'TLSv1' } : {}),
      },
      () => {
        socket.end();
        resolve();
      },
    );
    socket.once('error', reject);
  });
}

async function auditActions(dataDir: string, action: string): Promise<number> {
  const store = await openStore({ dataDir, databaseUrl: undefined });
  try {
    const rows = await store.db
      .selectFrom('audit_log')
      .select('action')
      .where('action', '=', action)
      .execute();
    return rows.length;
  } finally {
    await store.close();
  }
}

function configFor(dataDir: string, env: Record<string, string> = {}): VigilConfig {
  return loadConfig({
    env: {
      VIGIL_DATA_DIR: dataDir,
      VIGIL_HTTP_PORT: '0',
      VIGIL_MQTT_PORT: '0',
      VIGIL_LOG_LEVEL: 'silent',
      ...env,
    },
  });
}

describe('server certificate at start', () => {
  let dataDir: string;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-server-cert-'));
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('covers a host and a public URL named after init, and reissues only once', async () => {
    await initDataDir(configFor(dataDir));
    // 127.0.0.2 is loopback too on Linux; the certificate init issued names only 127.0.0.1.
    const later = configFor(dataDir, {
      VIGIL_HOST: '127.0.0.2',
      VIGIL_PUBLIC_URL: 'https://vigil.example.org:8443',
    });
    let vigil = await startVigil(later, { log: silent });
    let served: string;
    try {
      for (const port of [vigil.httpPort, vigil.mqttPort]) {
        // On MQTT the client has judged the server before the server asks for its certificate.
        await verifies(port, vigil.caPem, { host: '127.0.0.2' });
        await verifies(port, vigil.caPem, { host: '127.0.0.2', servername: 'vigil.example.org' });
        await assert.rejects(
          verifies(port, vigil.caPem, { host: '127.0.0.2', servername: 'other.example.org' }),
          /does not match certificate's altnames/,
        );
      }
      served = (await presented(vigil.httpPort, '127.0.0.2')).serialNumber;
    } finally {
      await vigil.stop();
    }
    vigil = await startVigil(later, { log: silent });
    try {
      assert.equal((await presented(vigil.httpPort, '127.0.0.2')).serialNumber, served);
    } finally {
      await vigil.stop();
    }
    assert.equal(await auditActions(dataDir, 'tls.server-certificate.reissue'), 1);
  });

  it('reissues one in its last 30 days, stored for the next start', async () => {
    const config = configFor(dataDir, {
      VIGIL_HOST: '127.0.0.2',
      VIGIL_PUBLIC_URL: 'https://vigil.example.org:8443',
    });
    // Put back a certificate issued 800 days ago: 25 days left of its 825.
    const store = await openStore({ dataDir, databaseUrl: undefined });
    try {
      const keys = new KeyRing(store.db, loadMasterKeyFile(config.masterKeyFile));
      const ca = await loadDeviceCa(store.db, keys);
      const old = await issueServerCertificate(
        ca,
        ['localhost', '127.0.0.1', '::1', '127.0.0.2', 'vigil.example.org'],
        new Date(Date.now() - 800 * DAY_MS),
      );
      await storeServerTls(store.db, keys, old);
    } finally {
      await store.close();
    }
    const vigil = await startVigil(config, { log: silent });
    try {
      await verifies(vigil.httpPort, vigil.caPem, { host: '127.0.0.2' });
      const served = await presented(vigil.httpPort, '127.0.0.2');
      assert.ok(Date.parse(served.valid_to) > Date.now() + 800 * DAY_MS, served.valid_to);
      const gauge = await vigil.metrics.registry.getSingleMetricAsString(
        'vigil_tls_server_certificate_not_after_seconds',
      );
      assert.equal(Number(gauge.trim().split(/\s+/).at(-1)), Date.parse(served.valid_to) / 1000);
    } finally {
      await vigil.stop();
    }
    assert.equal(await auditActions(dataDir, 'tls.server-certificate.reissue'), 2);
  });
});

describe('server certificate while running', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.stop());

  it('swaps in a reissued certificate without dropping open connections', async () => {
    const creds = await h.enrol('tls-renew-ox', 'tls-renew-patient');
    const device = await h.connect(creds, 'tls-renew-ox');
    const before = await presented(h.vigil.httpPort);
    // 800 days on, the certificate has 25 days left: the periodic check reissues it.
    assert.equal(await h.vigil.checkServerTls(Date.now() + 800 * DAY_MS), 'reissued');
    assert.notEqual((await presented(h.vigil.httpPort)).serialNumber, before.serialNumber);
    assert.notEqual((await presented(h.vigil.mqttPort)).serialNumber, before.serialNumber);
    // The device's connection from before the swap still delivers.
    const code = await publishQos1(
      device,
      'v1/devices/tls-renew-ox/telemetry',
      telemetry(1, [{ code: '59408-5', value: 97, unit: '%' }]),
    );
    assert.equal(code, 0);
    // The swapped-in context keeps the TLS policy: nothing below TLS 1.2.
    await assert.rejects(verifies(h.vigil.httpPort, h.caPem, { maxVersion: 'TLSv1.1' }));
    // Issued "800 days from now", it is not valid yet today: the next check replaces it again,
    // and that one a client accepts, on both listeners (a device connects anew over MQTT).
    assert.equal(await h.vigil.checkServerTls(), 'reissued');
    assert.equal(await h.vigil.checkServerTls(), 'kept');
    await verifies(h.vigil.httpPort, h.caPem);
    await verifies(h.vigil.mqttPort, h.caPem);
    const again = await h.connect(creds, 'tls-renew-ox');
    assert.ok(again.connected);
  });
});

describe('operator certificate files', () => {
  let dir: string;
  let h: Harness;
  const own = async () => {
    const ca = await createDeviceCa({ organization: 'Operator CA' });
    const issued = await issueServerCertificate(ca, ['localhost', '127.0.0.1']);
    return {
      certPem: `${issued.certPem}${issued.chainPem}`,
      keyPem: issued.keyPkcs8Pem,
      caPem: ca.root.certPem,
    };
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-own-cert-'));
  });
  after(async () => {
    await h?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a renewed pair from the same files after a check, and keeps the last good one', async () => {
    const first = await own();
    const certFile = join(dir, 'server.crt');
    const keyFile = join(dir, 'server.key');
    writeFileSync(certFile, first.certPem);
    writeFileSync(keyFile, first.keyPem);
    h = await startHarness({ env: { VIGIL_TLS_CERT: certFile, VIGIL_TLS_KEY: keyFile } });
    await verifies(h.vigil.httpPort, first.caPem);
    assert.equal(await h.vigil.checkServerTls(), 'kept');

    const second = await own();
    writeFileSync(certFile, second.certPem);
    writeFileSync(keyFile, second.keyPem);
    assert.equal(await h.vigil.checkServerTls(), 'reloaded');
    await verifies(h.vigil.httpPort, second.caPem);
    await assert.rejects(verifies(h.vigil.httpPort, first.caPem));

    // Half a renewal (a new certificate, the old key) is not taken: the last good pair stays.
    writeFileSync(certFile, (await own()).certPem);
    assert.equal(await h.vigil.checkServerTls(), 'kept');
    await verifies(h.vigil.httpPort, second.caPem);
  });

  it('rereads them on SIGHUP in `vigil serve`', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-own-cert-hup-'));
    const certFile = join(dir, 'hup.crt');
    const keyFile = join(dir, 'hup.key');
    const first = await own();
    writeFileSync(certFile, first.certPem);
    writeFileSync(keyFile, first.keyPem);
    const env = {
      ...process.env,
      VIGIL_LOG_LEVEL: 'silent',
      VIGIL_TLS_CERT: certFile,
      VIGIL_TLS_KEY: keyFile,
    };
    const cli = ['--import', 'tsx', 'src/cli/main.ts'];
    assert.equal((await runVigil(['init', '--data-dir', dataDir], { env })).code, 0);
    const server = spawn(
      process.execPath,
      [...cli, 'serve', '--data-dir', dataDir, '--http-port', '0', '--mqtt-port', '0', '--json'],
      { env, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        server.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const line = out.split('\n').find((l) => l.startsWith('{'));
          if (line) resolve(Number(new URL((JSON.parse(line) as { https: string }).https).port));
        });
        server.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
      });
      await verifies(port, first.caPem);
      const second = await own();
      writeFileSync(certFile, second.certPem);
      writeFileSync(keyFile, second.keyPem);
      server.kill('SIGHUP');
      await until('the renewed certificate', () =>
        verifies(port, second.caPem).then(
          () => true,
          () => undefined,
        ),
      );
      assert.equal(server.exitCode, null, 'SIGHUP must not stop the server');
    } finally {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses to start on files that are not a certificate and its key, saying which', async () => {
    const certFile = join(dir, 'bad.crt');
    writeFileSync(certFile, 'not a certificate');
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-own-cert-bad-'));
    try {
      const config = configFor(dataDir, { VIGIL_TLS_CERT: certFile, VIGIL_TLS_KEY: join(dir, 'server.key') });
      await initDataDir(config);
      await assert.rejects(
        startVigil(config, { log: silent }),
        /VIGIL_ERR_CONFIG_INVALID: VIGIL_TLS_CERT and VIGIL_TLS_KEY/,
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
