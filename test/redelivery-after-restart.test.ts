import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { EnrolledCredentials } from '../src/devices/enroll-client.ts';
import { type Harness, publishQos1, startHarness, telemetry } from './support/vigil-harness.ts';

const TOPIC = 'v1/devices/ox-r/telemetry';
const HR = (value: number) => ({ code: '8867-4', value, unit: '/min' });

/**
 * A device resends what it never saw acknowledged. After a restart, Vigil must still tell such a
 * resend (stored, acknowledge again) from a replay (refuse), also when sealing has already
 * moved the message out of the staging rows: a clean stop seals every open run.
 */
describe('redelivery after a restart', () => {
  let h: Harness;
  let creds: EnrolledCredentials;
  let client: MqttClient;
  const sent: string[] = [];
  const T0 = Date.now() - 60_000;

  before(async () => {
    h = await startHarness();
    creds = await h.enrol('ox-r', 'pat-r');
    client = await h.connect(creds, 'ox-r');
    for (let seq = 1; seq <= 40; seq++) {
      const payload = telemetry(seq, [HR(60 + (seq % 20))], new Date(T0 + seq * 1000));
      sent.push(payload);
      assert.equal(await publishQos1(client, TOPIC, payload), 0);
    }
    client.end(true);
    await h.restart();
    const staged = h.vigil.store.sqlite!.prepare('SELECT count(*) n FROM reading_staging').get() as {
      n: number;
    };
    assert.equal(staged.n, 0, 'the clean stop sealed every run');
    client = await h.connect(creds, 'ox-r');
  });
  after(async () => {
    client.end(true);
    await h.stop();
  });

  it('acknowledges a resend of a sealed message again and stores it once', async () => {
    assert.equal(await publishQos1(client, TOPIC, sent[39]!), 0);
    assert.equal(await publishQos1(client, TOPIC, sent[0]!), 0);
    const r = await h.api('/api/v1/patients/pat-r/observations?limit=1000');
    assert.equal(r.status, 200, r.text);
    assert.equal((r.json as { observations: unknown[] }).observations.length, 40);
  });

  it('keeps keyed fingerprints at rest, never a plain hash of a payload', () => {
    const db = h.vigil.store.sqlite!;
    const plain = new Set(sent.map((p) => createHash('sha256').update(p).digest('base64url')));
    const kept = db.prepare("SELECT hash FROM redelivery_window WHERE device_id = 'ox-r'").all() as Array<{
      hash: string;
    }>;
    const last = db.prepare("SELECT last_hash FROM devices WHERE id = 'ox-r'").get() as { last_hash: string };
    assert.equal(kept.length, 40);
    for (const { hash } of [...kept, { hash: last.last_hash }]) {
      assert.match(hash, /^[A-Za-z0-9_-]{43}$/);
      assert.ok(!plain.has(hash), 'a plain SHA-256 of a payload is kept at rest');
    }
  });

  it('still refuses a different payload under a stored seq as a replay', async () => {
    const forged = telemetry(40, [HR(99)], new Date(T0 + 40_000));
    assert.equal(await publishQos1(client, TOPIC, forged), 0x83);
  });
});
