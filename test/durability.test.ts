import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { loadConfig } from '../src/config/config.ts';
import type { EnrolledCredentials } from '../src/devices/enroll-client.ts';
import { type Harness, startHarness, telemetry } from './support/vigil-harness.ts';

const DEVICES = 6;

/** Runs `vigil serve` as a separate process so it can be killed with SIGKILL. */
function serveChild(dataDir: string): Promise<{ child: ChildProcess; http: number; mqtt: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--json'], {
      env: {
        ...process.env,
        VIGIL_DATA_DIR: dataDir,
        VIGIL_HTTP_PORT: '0',
        VIGIL_MQTT_PORT: '0',
        VIGIL_LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        const info = JSON.parse(line) as { https: string; mqtt: number };
        resolve({ child, http: Number(new URL(info.https).port), mqtt: info.mqtt });
      }
    });
    child.once('exit', (code) => reject(new Error(`vigil serve exited early with ${code}`)));
  });
}

describe('durability', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-durability-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps every acknowledged reading across kill -9, and stores none twice', {
    timeout: 120_000,
  }, async (t) => {
    // Provision with an in-process server, then hand the data dir to a child process.
    const h: Harness = await startHarness({ dataDir });
    const creds: Array<{ id: string; c: EnrolledCredentials }> = [];
    for (let i = 0; i < DEVICES; i++)
      creds.push({ id: `dur-${i}`, c: await h.enrol(`dur-${i}`, `dur-pat-${i % 3}`) });
    await h.vigil.stop();

    const server = await serveChild(dataDir);
    const acked = new Map<string, Set<number>>();
    const sent = new Map<string, Map<number, string>>();
    const clients = creds.map(({ id, c }) => {
      acked.set(id, new Set());
      sent.set(id, new Map());
      return mqtt.connect(`mqtts://127.0.0.1:${server.mqtt}`, {
        protocolVersion: 5,
        clientId: id,
        key: c.keyPem,
        cert: c.certPem,
        ca: c.caPem,
        reconnectPeriod: 0,
      });
    });
    await Promise.all(clients.map((c) => new Promise((r) => c.once('connect', r))));
    let seq = 0;
    let lastTsMs = 0;
    const pump = setInterval(() => {
      seq++;
      // One distinct timestamp per message, so a reading stored twice cannot hide behind a twin.
      lastTsMs = Math.max(Date.now(), lastTsMs + 1);
      clients.forEach((client, i) => {
        const id = creds[i]!.id;
        const payload = telemetry(
          seq,
          [
            { code: '8867-4', value: 60 + (seq % 40), unit: '/min' },
            { code: '59408-5', value: 95 + (seq % 5), unit: '%' },
          ],
          new Date(lastTsMs),
        );
        sent.get(id)!.set(seq, payload);
        const s = seq;
        client.publish(`v1/devices/${id}/telemetry`, payload, { qos: 1 }, (err, packet) => {
          if (!err && ((packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0) === 0)
            acked.get(id)!.add(s);
        });
      });
    }, 2);
    await new Promise((r) => setTimeout(r, 1500));
    server.child.kill('SIGKILL');
    clearInterval(pump);
    await new Promise((r) => server.child.once('exit', r));
    for (const c of clients) c.end(true);
    const totalAcked = [...acked.values()].reduce((n, s) => n + s.size, 0);
    assert.ok(totalAcked > 100, `only ${totalAcked} messages were acknowledged before the kill`);

    // Restart; devices resend everything they never saw acknowledged, as QoS 1 devices do.
    const again = await serveChild(dataDir);
    // A failed assertion below must end the test, not leave the server and this test running.
    const stopAgain = async () => {
      if (again.child.exitCode !== null || again.child.signalCode !== null) return;
      again.child.kill('SIGTERM');
      await new Promise((r) => again.child.once('exit', r));
    };
    t.after(stopAgain);
    const resent = await Promise.all(
      creds.map(
        ({ id, c }) =>
          new Promise<number>((resolve, reject) => {
            const client = mqtt.connect(`mqtts://127.0.0.1:${again.mqtt}`, {
              protocolVersion: 5,
              clientId: id,
              key: c.keyPem,
              cert: c.certPem,
              ca: c.caPem,
              reconnectPeriod: 0,
            });
            client.once('connect', async () => {
              try {
                resolve(await resendUnacked(client, id));
              } catch (e) {
                reject(e);
              } finally {
                client.end(true);
              }
            });
          }),
      ),
    );
    async function resendUnacked(client: mqtt.MqttClient, id: string): Promise<number> {
      let n = 0;
      for (const [s, payload] of sent.get(id)!) {
        if (acked.get(id)!.has(s)) continue;
        const code = await new Promise<number>((r) =>
          client.publish(`v1/devices/${id}/telemetry`, payload, { qos: 1 }, (_e, p) =>
            r((p as { reasonCode?: number } | undefined)?.reasonCode ?? 0),
          ),
        );
        assert.equal(code, 0, `resend of ${id} seq ${s} refused with ${code}`);
        n++;
      }
      return n;
    }
    const totalSent = [...sent.values()].reduce((n, m) => n + m.size, 0);
    t.diagnostic(
      `${totalSent} messages sent, ${totalAcked} acknowledged before kill -9, ${resent.reduce((a, b) => a + b, 0)} resent after restart`,
    );
    await stopAgain();

    // Every message sent is now stored exactly once: acked ones survived the kill, the rest were resent.
    const h2 = await startHarnessOn(dataDir);
    try {
      for (let p = 0; p < 3; p++) {
        const patient = `dur-pat-${p}`;
        const r = await h2.api(
          `/api/v1/patients/${patient}/observations?limit=100000&from=${new Date(Date.now() - 3_600_000).toISOString()}`,
        );
        const obs = (r.json as { observations: Array<{ code: string; device: string; effective: string }> })
          .observations;
        const keys = obs.map((o) => `${o.device}|${o.code}|${o.effective}`);
        const seen = new Set<string>();
        const stored2x = keys.filter((k) => seen.has(k) || !seen.add(k));
        assert.deepEqual(stored2x, [], `readings stored twice for ${patient}`);
        const devicesOfPatient: string[] = creds.filter((_, i) => i % 3 === p).map((c) => c.id);
        const stored = new Set(
          obs.filter((o) => o.code === '8867-4').map((o) => `${o.device}|${o.effective}`),
        );
        const missing: string[] = [];
        for (const id of devicesOfPatient) {
          for (const [s, payload] of sent.get(id)!) {
            const ts = (JSON.parse(payload) as { ts: string }).ts;
            if (!stored.has(`${id}|${ts}`))
              missing.push(`${id} seq ${s} (${acked.get(id)!.has(s) ? 'acked' : 'resent'})`);
          }
        }
        assert.deepEqual(missing, [], `patient ${patient}: messages missing after restart`);
        const expected = devicesOfPatient.reduce((n: number, id) => n + sent.get(id)!.size * 2, 0);
        assert.equal(
          obs.length,
          expected,
          `patient ${patient}: ${obs.length} readings stored, ${expected} sent`,
        );
      }
    } finally {
      await h2.vigil.stop();
    }
  });
});

/** Reopens an existing data dir in-process, to read back through the API. */
async function startHarnessOn(dataDir: string) {
  const { startVigil } = await import('../src/server/vigil.ts');
  const { httpsRequest } = await import('./support/https-client.ts');
  const { ApiTokens } = await import('../src/access/api-tokens.ts');
  const pino = (await import('pino')).default;
  const config = loadConfig({ env: { VIGIL_DATA_DIR: dataDir, VIGIL_HTTP_PORT: '0', VIGIL_MQTT_PORT: '0' } });
  const vigil = await startVigil(config, { log: pino({ level: 'silent' }) });
  // An integration reads under consent alone; a clinician would need a care-team link.
  const { token } = await new ApiTokens(vigil.store.db).create({
    role: 'integration',
    name: 'reader',
    ttlSeconds: 600,
  });
  return {
    vigil,
    api: (path: string) =>
      httpsRequest(`https://127.0.0.1:${vigil.httpPort}${path}`, { ca: vigil.caPem, token }),
  };
}
