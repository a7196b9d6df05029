/**
 * `vigil keys rotate` run by an operator while devices publish and patients are registered:
 * afterwards every acknowledged reading and every patient opens, under the new key alone.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { loadMasterKeyFile, previousKeyPath } from '../src/crypto/master-key.ts';
import { type Harness, startHarness, telemetry } from './support/vigil-harness.ts';

function rotate(dataDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'keys', 'rotate', '--data-dir', dataDir, '--json'],
      { env: { ...process.env, VIGIL_LOG_LEVEL: 'silent' }, timeout: 120_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe('master key rotation under load', () => {
  let h: Harness;
  const clients: MqttClient[] = [];
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.stop();
  });

  it('loses no acknowledged reading and no patient', { timeout: 180_000 }, async () => {
    const devices = ['rot-a', 'rot-b', 'rot-c'];
    for (const [i, id] of devices.entries()) {
      const creds = await h.enrol(id, `rot-p${i}`);
      clients.push(await h.connect(creds, id));
    }
    const oldKeyId = loadMasterKeyFile(h.config.masterKeyFile).id;
    const acked: Array<{ patient: string; ts: string }> = [];
    let seq = 0;
    let stop = false;
    const load = (async () => {
      while (!stop) {
        seq++;
        const ts = new Date(Date.now() - 1000 + (seq % 1000)).toISOString();
        await Promise.all(
          devices.map(
            (id, i) =>
              new Promise<void>((resolve) => {
                clients[i]?.publish(
                  `v1/devices/${id}/telemetry`,
                  telemetry(seq, [{ code: '8867-4', value: 60 + (seq % 50), unit: '/min', ts }]),
                  { qos: 1 },
                  (err, packet) => {
                    const code = (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0;
                    if (!err && code === 0) acked.push({ patient: `rot-p${i}`, ts });
                    resolve();
                  },
                );
              }),
          ),
        );
      }
    })();
    // New patients during the rotation get data keys wrapped by whichever key is current.
    let added = 0;
    const registering = (async () => {
      while (!stop) {
        await h.vigil.patients.add(`rot-new-${added}`, { name: `Added During Rotation ${added}` });
        added++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    await new Promise((r) => setTimeout(r, 500));
    const r = await rotate(h.dataDir);
    await new Promise((r2) => setTimeout(r2, 300));
    stop = true;
    await Promise.all([load, registering]);

    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { finished: boolean; newKeyId: string; dataKeys: number };
    assert.equal(result.finished, true);
    assert.notEqual(result.newKeyId, oldKeyId);
    assert.equal(existsSync(previousKeyPath(h.config.masterKeyFile)), false);
    assert.ok(acked.length > 50, `only ${acked.length} readings acknowledged during the rotation`);
    assert.ok(added > 5, `only ${added} patients added during the rotation`);

    // A fresh process that has only the new key file reads everything.
    for (const c of clients.splice(0)) c.end(true);
    await h.restart();
    for (const [i] of devices.entries()) {
      const patient = `rot-p${i}`;
      const res = await h.api(
        `/api/v1/patients/${patient}/observations?limit=100000&from=${new Date(Date.now() - 3_600_000).toISOString()}`,
      );
      assert.equal(res.status, 200, res.text);
      const stored = new Set(
        (res.json as { observations: Array<{ effective: string }> }).observations.map((o) => o.effective),
      );
      const missing = acked.filter((a) => a.patient === patient && !stored.has(a.ts));
      assert.deepEqual(missing, [], `${patient}: acknowledged readings missing after rotation`);
    }
    for (let i = 0; i < added; i++) {
      const p = await h.vigil.patients.get(`rot-new-${i}`);
      assert.equal(p?.name, `Added During Rotation ${i}`);
    }
  });
});
