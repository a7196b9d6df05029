/**
 * Crypto-shredding: erasing one patient destroys their data key; their sealed rows stay on
 * disk as ciphertext nobody can open, everyone else's data stays readable, the audit trail
 * stays whole and records the erasure.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { open } from '../src/crypto/aead.ts';
import { ERASED_FINGERPRINT } from '../src/ingest/message-fingerprint.ts';
import { type Harness, publishQos1, startHarness, telemetry } from './support/vigil-harness.ts';

describe('patient erasure (crypto-shredding)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.stop();
  });

  it('makes one patient unreadable and leaves the rest readable', async () => {
    for (const [device, patient] of [
      ['er-dev-1', 'er-p1'],
      ['er-dev-2', 'er-p2'],
    ] as const) {
      const client = await h.connect(await h.enrol(device, patient), device);
      for (let seq = 1; seq <= 5; seq++) {
        const code = await publishQos1(
          client,
          `v1/devices/${device}/telemetry`,
          telemetry(
            seq,
            [{ code: '8867-4', value: 70 + seq, unit: '/min' }],
            new Date(Date.now() - 60_000 + seq),
          ),
        );
        assert.equal(code, 0);
      }
      client.end(true);
    }
    await h.restart(); // seals the open runs into chunks on disk
    const db = h.vigil.store.sqlite;
    assert.ok(db);
    const chunksBefore = db
      .prepare("SELECT count(*) AS n FROM reading_chunks WHERE patient_id = 'er-p1'")
      .get() as {
      n: number;
    };
    assert.ok(chunksBefore.n >= 1);
    const fingerprints = (patient: string) =>
      (
        db.prepare('SELECT count(*) AS n FROM redelivery_window WHERE patient_id = ?').get(patient) as {
          n: number;
        }
      ).n;
    const lastHash = (device: string) =>
      (db.prepare('SELECT last_hash FROM devices WHERE id = ?').get(device) as { last_hash: string })
        .last_hash;
    assert.equal(fingerprints('er-p1'), 5, 'the sealed messages kept their fingerprints');

    const refused = await h.api('/api/v1/patients/er-p1/erase', {
      method: 'POST',
      body: { reason: 'GDPR art. 17 request #42', confirm: 'er-p2' },
    });
    assert.equal(refused.status, 400, 'confirm must name the same patient');

    const erased = await h.api('/api/v1/patients/er-p1/erase', {
      method: 'POST',
      body: { reason: 'GDPR art. 17 request #42', confirm: 'er-p1' },
    });
    assert.equal(erased.status, 200, erased.text);
    // Fingerprints of the erased patient's messages go too; the other patient's stay.
    assert.equal(fingerprints('er-p1'), 0);
    assert.equal(lastHash('er-dev-1'), ERASED_FINGERPRINT);
    assert.equal(fingerprints('er-p2'), 5);
    assert.equal(lastHash('er-dev-2').length, 43);

    const gone = await h.api('/api/v1/patients/er-p1/observations');
    assert.equal(gone.status, 410, gone.text);
    assert.match(String(gone.headers['content-type']), /problem\+json/);
    const kept = await h.api('/api/v1/patients/er-p2/observations');
    assert.equal(kept.status, 200, kept.text);
    assert.equal((kept.json as { observations: unknown[] }).observations.length, 5);

    // The ciphertext is still there; the key that opened it is not.
    const key = db.prepare("SELECT wrapped, destroyed_at FROM data_keys WHERE owner_id = 'er-p1'").get() as {
      wrapped: Buffer;
      destroyed_at: number | null;
    };
    assert.equal(key.wrapped.length, 0);
    assert.ok(key.destroyed_at !== null);
    const chunk = db
      .prepare("SELECT sealed FROM reading_chunks WHERE patient_id = 'er-p1' LIMIT 1")
      .get() as {
      sealed: Buffer;
    };
    assert.ok(chunk.sealed.length > 28);
    assert.throws(() => open(Buffer.alloc(32), chunk.sealed, 'x'));

    // The device of the erased patient is no longer assigned: its readings are refused.
    const client = await h.connect(
      await h.vigil.devices.createEnrollmentToken('er-dev-1', 60).then(async ({ token }) => {
        const { enrollDevice } = await import('../src/devices/enroll-client.ts');
        return enrollDevice({ serverUrl: h.baseUrl, caPem: h.caPem, deviceId: 'er-dev-1', token });
      }),
      'er-dev-1',
    );
    const code = await publishQos1(
      client,
      'v1/devices/er-dev-1/telemetry',
      telemetry(99, [{ code: '8867-4', value: 80, unit: '/min' }]),
    );
    assert.notEqual(code, 0);

    const auditor = await import('../src/access/api-tokens.ts').then(({ ApiTokens }) =>
      new ApiTokens(h.vigil.store.db).create({ role: 'auditor', name: 'er-aud', ttlSeconds: 600 }),
    );
    const verify = await h.api('/api/v1/audit/verify', { token: auditor.token });
    assert.equal((verify.json as { intact: boolean }).intact, true);
    const trail = await h.api('/api/v1/audit?action=patient.erase', { token: auditor.token });
    const entries = (trail.json as { entries: Array<{ patient: string; purpose: string }> }).entries;
    assert.deepEqual(
      entries.map((e) => [e.patient, e.purpose]),
      [['er-p1', 'GDPR art. 17 request #42']],
    );
  });

  it("keeps a device's last fingerprint when that message was another patient's", async () => {
    // Both devices measured er-p3 first, then er-p4: their last messages are er-p4's, one
    // sealed (its fingerprint in the window) and one still in staging.
    const now = Date.now();
    await h.vigil.patients.add('er-p4', { name: 'Test er-p4' });
    await h.care('er-p4');
    const payloads = [1, 2, 3, 4, 5].map((seq) =>
      telemetry(
        seq,
        [{ code: '8867-4', value: 60 + seq, unit: '/min' }],
        new Date(seq <= 3 ? now - 120_000 + seq : now - 10_000 + seq),
      ),
    );
    const publishAll = async (device: string) => {
      const client = await h.connect(await h.enrol(device, 'er-p3', now - 3_600_000), device);
      const moved = await h.api(`/api/v1/devices/${device}/patient`, {
        method: 'PUT',
        body: { patientId: 'er-p4', from: new Date(now - 60_000).toISOString() },
      });
      assert.equal(moved.status, 200, moved.text);
      for (const payload of payloads) {
        assert.equal(await publishQos1(client, `v1/devices/${device}/telemetry`, payload), 0);
      }
      client.end(true);
    };
    await publishAll('er-dev-3');
    await h.restart(); // er-dev-3's runs are sealed: its last fingerprint is in the window
    await publishAll('er-dev-4'); // er-dev-4's messages are still staging rows
    const db = h.vigil.store.sqlite;
    assert.ok(db);
    const lastHash = (device: string) =>
      (db.prepare('SELECT last_hash FROM devices WHERE id = ?').get(device) as { last_hash: string })
        .last_hash;
    const before = [lastHash('er-dev-3'), lastHash('er-dev-4')];

    const erased = await h.api('/api/v1/patients/er-p3/erase', {
      method: 'POST',
      body: { reason: 'GDPR art. 17 request #43', confirm: 'er-p3' },
    });
    assert.equal(erased.status, 200, erased.text);
    assert.deepEqual([lastHash('er-dev-3'), lastHash('er-dev-4')], before);
    assert.notEqual(before[0], ERASED_FINGERPRINT);

    // A resend of the last message is still recognised as already stored, not as a replay.
    for (const device of ['er-dev-3', 'er-dev-4']) {
      const client = await h.connect(
        await h.vigil.devices.createEnrollmentToken(device, 60).then(async ({ token }) => {
          const { enrollDevice } = await import('../src/devices/enroll-client.ts');
          return enrollDevice({ serverUrl: h.baseUrl, caPem: h.caPem, deviceId: device, token });
        }),
        device,
      );
      const last = payloads[4] as string;
      assert.equal(await publishQos1(client, `v1/devices/${device}/telemetry`, last), 0, device);
      client.end(true);
    }
    const kept = await h.api('/api/v1/patients/er-p4/observations');
    assert.equal(kept.status, 200, kept.text);
    assert.equal((kept.json as { observations: unknown[] }).observations.length, 4, 'none stored twice');
  });
});
