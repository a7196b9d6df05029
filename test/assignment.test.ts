/**
 * Issue #3: "readings taken before a device was reassigned stay with the first patient".
 * A real Vigil, a real device over MQTT 5 with its certificate, and the reassignment made by
 * the operator's own command (`vigil device assign`, a separate process on the same data dir).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { runVigil } from './support/cli-process.ts';
import { type Harness, publishQos1, startHarness, telemetry } from './support/vigil-harness.ts';

interface Obs {
  code: string;
  value: number;
  effective: string;
  device: string;
}

const vigilCli = (args: string[], dataDir: string) => runVigil(args, { env: { VIGIL_DATA_DIR: dataDir } });

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('device reassignment', () => {
  let h: Harness;
  let device: MqttClient;
  const topic = 'v1/devices/wear-1/telemetry';
  const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);

  before(async () => {
    h = await startHarness();
    const creds = await h.enrol('wear-1', 'pat-first', Date.now() - 3_600_000);
    await h.vigil.patients.add('pat-second', { name: 'Second Wearer' });
    await h.care('pat-second');
    device = await h.connect(creds, 'wear-1');
  });
  after(async () => {
    device.end(true);
    await h.stop();
  });

  const readings = async (patient: string) => {
    const r = await h.api(
      `/api/v1/patients/${patient}/observations?from=${minutesAgo(120).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}`,
    );
    assert.equal(r.status, 200, r.text);
    return (r.json as { observations: Obs[] }).observations;
  };

  it('keeps readings taken before the reassignment with the first patient, also when they arrive after it', async () => {
    const before1 = minutesAgo(20);
    const before2 = minutesAgo(10);
    assert.equal(
      await publishQos1(
        device,
        topic,
        telemetry(1, [{ code: '8867-4', value: 71, unit: '/min', ts: before1.toISOString() }], before1),
      ),
      0,
    );

    const assigned = await vigilCli(
      ['device', 'assign', '--id', 'wear-1', '--patient', 'pat-second', '--json'],
      h.dataDir,
    );
    assert.equal(assigned.code, 0, assigned.stderr);
    const reassignedAt = Date.now();
    // The running server learns of the CLI's change by itself (it watches the database).
    await until(() => h.vigil.directory.patientAt('wear-1', Date.now()) === 'pat-second', 'the reassignment');

    // One message carries a reading buffered before the reassignment and one taken after it.
    const after1 = new Date(Math.max(Date.now(), reassignedAt + 1));
    const mixed = telemetry(
      2,
      [
        { code: '8867-4', value: 72, unit: '/min', ts: before2.toISOString() },
        { code: '8867-4', value: 88, unit: '/min', ts: after1.toISOString() },
      ],
      after1,
    );
    assert.equal(await publishQos1(device, topic, mixed), 0);

    assert.deepEqual(
      (await readings('pat-first')).map((o) => [o.value, o.effective, o.device]),
      [
        [71, before1.toISOString(), 'wear-1'],
        [72, before2.toISOString(), 'wear-1'],
      ],
    );
    assert.deepEqual(
      (await readings('pat-second')).map((o) => [o.value, o.effective, o.device]),
      [[88, after1.toISOString(), 'wear-1']],
    );
    const history = await h.vigil.devices.assignments('wear-1');
    assert.deepEqual(
      history.map((a) => [a.patientId, a.toMs === null]),
      [
        ['pat-first', false],
        ['pat-second', true],
      ],
    );
  });

  it('keeps the split after the readings are sealed into chunks and the server restarts', async () => {
    device.end(true);
    await h.restart();
    assert.deepEqual(
      (await readings('pat-first')).map((o) => o.value),
      [71, 72],
    );
    assert.deepEqual(
      (await readings('pat-second')).map((o) => o.value),
      [88],
    );
    const sealed = h.vigil.store
      .sqlite!.prepare(
        'SELECT patient_id, SUM(count) AS n FROM reading_chunks GROUP BY patient_id ORDER BY patient_id',
      )
      .all();
    assert.deepEqual(sealed, [
      { patient_id: 'pat-first', n: 2 },
      { patient_id: 'pat-second', n: 1 },
    ]);
  });
});
