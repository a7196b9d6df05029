/**
 * `vigil demo` fills the security and privacy screens with real content (issue 6 item 7): the
 * sim models are in the posture inventory with SBOMs and advisories, so devices carry findings
 * and risk; every sim patient has a consent record and the first also a research refusal; the
 * ingest has refused two probes, listed as security events. A restart adds nothing twice.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { startDemoProcess } from './support/cli-process.ts';
import { httpsRequest } from './support/https-client.ts';

interface Running {
  url: string;
  token: string;
  stop(): Promise<void>;
}

async function startDemo(dir: string): Promise<Running> {
  const { child, out } = await startDemoProcess(dir, { devices: 4, rate: 0.5 });
  const url = /Dashboard\s+(https:\/\/\S+?)\/\s/.exec(out)?.[1];
  const token = /Admin token for this session \(12 h\): (\S+)/.exec(out)?.[1];
  assert.ok(url && token, out);
  return {
    url,
    token,
    stop: async () => {
      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

interface PostureDevice {
  id: string;
  model: string;
  firmware: string | null;
  hasSbom: boolean;
  support: { state: string };
  risk: { score: number; band: string };
  findings: Array<{ vulnerability: string; epss: number | null }>;
}

describe('demo content', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-demo-content-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const get = async (demo: Running, path: string) => {
    const r = await httpsRequest(`${demo.url}${path}`, {
      ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      token: demo.token,
    });
    assert.equal(r.status, 200, `${path}: ${r.text}`);
    return r.json;
  };
  /** Devices report firmware in their first status message; asks until all four have. */
  const postureOnceReported = async (demo: Running): Promise<PostureDevice[]> => {
    for (;;) {
      const { devices } = (await get(demo, '/api/v1/posture/devices')) as { devices: PostureDevice[] };
      if (devices.length === 4 && devices.every((d) => d.firmware !== null)) return devices;
      await new Promise((r) => setTimeout(r, 500));
    }
  };

  it('shows posture findings, consents and security events, and a restart adds none twice', async () => {
    let demo = await startDemo(dir);
    try {
      const devices = await postureOnceReported(demo);
      const cgm = devices.find((d) => d.model === 'SimCGM G7');
      assert.ok(cgm?.hasSbom);
      assert.deepEqual(cgm.findings.map((f) => f.vulnerability).sort(), [
        'CVE-2021-23337',
        'CVE-2022-37434',
        'CVE-2022-48174',
      ]);
      assert.ok(
        cgm.findings.every((f) => f.epss !== null),
        'EPSS scores were imported',
      );
      // The fixed firmware's SBOM matches nothing; the BP cuff's model is past its end of support.
      const bp = devices.find((d) => d.model === 'SimBP 5');
      assert.equal(bp?.findings.length, 0);
      assert.equal(bp?.support.state, 'legacy');
      assert.equal(devices.find((d) => d.model === 'SimOx 300')?.support.state, 'ends-within-90-days');
      assert.equal(devices[0]?.id, cgm.id, 'the device with findings is the riskiest');

      const first = (await get(demo, '/api/v1/patients/sim-patient-001/consents')) as {
        consents: Array<{ decision: string; purposes: string[]; categories: string[] }>;
      };
      assert.deepEqual(
        first.consents.map((c) => `${c.decision} ${c.purposes.join(',')} ${c.categories.join(',')}`).sort(),
        ['deny research *', 'permit treatment *'],
      );
      const second = (await get(demo, '/api/v1/patients/sim-patient-002/consents')) as {
        consents: unknown[];
      };
      assert.equal(second.consents.length, 1);

      const { events } = (await get(demo, '/api/v1/security/events?limit=50')) as {
        events: Array<{ code: string; deviceId: string | null }>;
      };
      assert.ok(events.length >= 2, JSON.stringify(events));
      assert.ok(
        events.some((e) => e.code === 'VIGIL_ERR_MQTT_TOPIC_DENIED'),
        JSON.stringify(events),
      );

      // Admins may not read the audit API; the data dir's database is the operator's view of it.
      const db = new Database(join(dir, 'vigil.db'), { readonly: true });
      const actions = new Set(
        (
          db.prepare("select action from audit_log where actor = 'cli:demo'").all() as Array<{
            action: string;
          }>
        ).map((r) => r.action),
      );
      db.close();
      for (const action of ['posture.model.put', 'posture.sbom.import', 'consent.permit', 'consent.deny'])
        assert.ok(actions.has(action), `audit has ${action}`);
    } finally {
      await demo.stop();
    }

    demo = await startDemo(dir);
    try {
      const first = (await get(demo, '/api/v1/patients/sim-patient-001/consents')) as { consents: unknown[] };
      assert.equal(first.consents.length, 2, 'no consent recorded twice');
      const { models } = (await get(demo, '/api/v1/posture/models')) as { models: unknown[] };
      assert.equal(models.length, 4);
    } finally {
      await demo.stop();
    }
  });
});
