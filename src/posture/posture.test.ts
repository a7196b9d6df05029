/**
 * The posture flow end to end on real SQLite and PostgreSQL: model, SBOMs for two firmware
 * versions, OSV + CSAF + KEV + EPSS fixtures; findings appear for the vulnerable firmware,
 * disappear after the upgrade the device reports, VEX suppresses, re-import changes nothing.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from '../../test/support/backends.ts';
import { DeviceStore } from '../devices/devices.store.ts';
import type { Store } from '../store/database.ts';
import { importAdvisoryPaths } from './advisory-import.ts';
import type { PostureReport } from './assessment.ts';
import { PostureStore } from './posture.store.ts';
import { importSbom, modelFrom, postureReport } from './posture-service.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const NOW = Date.parse('2026-09-15T00:00:00Z');
const MODEL = 'InfuPro 300';

async function seed(store: Store, sbomFormat: 'cdx.json' | 'spdx.json' | 'cdx.xml' = 'cdx.json') {
  const posture = new PostureStore(store.db, store.sqlite);
  const devices = new DeviceStore(store.db);
  await posture.upsertModel(
    modelFrom({
      model: MODEL,
      manufacturer: 'Acme Medical',
      deviceClass: 'infusion pump',
      criticality: 'life-sustaining',
      endOfSupport: '2026-11-30',
      encryption: 'in-transit',
      authentication: 'shared-secret',
      patchability: 'manual',
    }),
  );
  await devices.add({ id: 'pump-1', model: MODEL, serial: 'IP300-1' });
  await devices.updateStatus('pump-1', { firmware: '2.3.0', seenMs: NOW - 60_000 });
  await posture.setProfile({
    deviceId: 'pump-1',
    zone: 'clinical',
    connection: 'legacy',
    internetReachable: false,
  });
  for (const fw of ['2.3.0', '2.4.1']) {
    const name =
      sbomFormat === 'cdx.xml' && fw === '2.4.1' ? `infupro-${fw}.cdx.json` : `infupro-${fw}.${sbomFormat}`;
    await importSbom(posture, { model: MODEL, firmware: fw, text: fixture(name), source: name });
  }
  const imported = await importAdvisoryPaths(posture, [join(FIXTURES, 'advisories')]);
  assert.deepEqual(imported.errors, []);
  return { posture, devices, imported };
}

const findingsOf = (r: PostureReport, id = 'pump-1') => r.devices.find((d) => d.id === id)!;

for (const backend of BACKENDS) {
  describe(`posture findings (${backend.name})`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ store, cleanup } = await backend.open());
    });
    after(async () => cleanup());

    it('finds the vulnerabilities of the firmware a device runs, with risk parts and a firmware plan', async () => {
      const { posture } = await seed(store);
      const d = findingsOf(await postureReport(posture, NOW));
      const vulns = d.findings.map((f) => f.vulnerability).sort();
      assert.deepEqual(vulns, ['CVE-2021-23337', 'CVE-2022-48174', 'CVE-2026-10001']);
      const pump = d.findings.find((f) => f.vulnerability === 'CVE-2026-10001')!;
      assert.equal(pump.kev, true);
      assert.equal(pump.cvss?.base, 8.8);
      assert.ok(pump.risk!.parts.some((p) => p.factor === 'exploitation' && p.why.includes('KEV')));
      assert.ok(pump.risk!.parts.some((p) => p.factor === 'authentication'));
      assert.match(pump.risk!.multiplier.why, /life-sustaining/);
      assert.equal(pump.fixFirmware, '2.4.1');
      assert.equal(d.recommendation.action, 'firmware-update');
      assert.match(d.recommendation.steps[0]!, /2\.3\.0 to 2\.4\.1/);
      assert.equal(d.support.state, 'ends-within-90-days');
      assert.ok(d.warnings.some((w) => w.includes('support ends in 76 days')));
    });

    it('suppresses a finding that a vendor CSAF marks known_not_affected, with the reason', async () => {
      const d = findingsOf(await postureReport(new PostureStore(store.db, store.sqlite), NOW));
      const zlib = d.suppressed.find((f) => f.vulnerability === 'CVE-2022-37434');
      assert.ok(zlib, 'the zlib finding is matched but suppressed');
      assert.equal(zlib.status, 'not_affected');
      assert.match(zlib.statusReason ?? '', /vulnerable_code_not_in_execute_path/);
      assert.equal(zlib.risk, null);
    });

    it('changes nothing when the same SBOMs and advisories are imported again', async () => {
      const posture = new PostureStore(store.db, store.sqlite);
      const before = JSON.stringify(await postureReport(posture, NOW));
      const again = await importAdvisoryPaths(posture, [join(FIXTURES, 'advisories')]);
      assert.equal(again.skippedFiles, again.files);
      const sbom = await importSbom(posture, {
        model: MODEL,
        firmware: '2.3.0',
        text: fixture('infupro-2.3.0.cdx.json'),
        source: 'x',
      });
      assert.equal(sbom.outcome, 'unchanged');
      assert.equal(sbom.vex.inserted + sbom.vex.updated, 0);
      // A file with the same advisories under new bytes is parsed again and still writes nothing.
      const osv = JSON.parse(fixture('advisories/osv/DLA-3103-1.json'));
      const written = await posture.putAdvisories((await import('./advisory-osv.ts')).parseOsv(osv));
      assert.deepEqual(written, { inserted: 0, updated: 0, unchanged: 1 });
      assert.equal(JSON.stringify(await postureReport(posture, NOW)), before);
    });

    it('drops the findings once the device reports the fixed firmware', async () => {
      const posture = new PostureStore(store.db, store.sqlite);
      await new DeviceStore(store.db).updateStatus('pump-1', { firmware: '2.4.1', seenMs: NOW });
      const d = findingsOf(await postureReport(posture, NOW));
      assert.deepEqual(d.findings, []);
      assert.equal(d.firmware, '2.4.1');
      assert.equal(d.recommendation.action, 'none');
    });
  });
}

describe('posture with SPDX and CycloneDX XML SBOMs', () => {
  for (const format of ['spdx.json', 'cdx.xml'] as const) {
    it(`finds the same vulnerabilities from ${format}`, async () => {
      const { store, cleanup } = await BACKENDS[0]!.open();
      try {
        const { posture } = await seed(store, format);
        const d = findingsOf(await postureReport(posture, NOW));
        assert.deepEqual(d.findings.map((f) => f.vulnerability).sort(), [
          'CVE-2021-23337',
          'CVE-2022-48174',
          'CVE-2026-10001',
        ]);
      } finally {
        await cleanup();
      }
    });
  }
});

describe('CycloneDX VEX in an SBOM', () => {
  it('marks a finding not affected for that model and firmware, with the analysis as reason', async () => {
    const { store, cleanup } = await BACKENDS[0]!.open();
    try {
      const { posture } = await seed(store);
      const bom = JSON.parse(fixture('infupro-2.3.0.cdx.json'));
      bom.vulnerabilities = [
        {
          id: 'CVE-2021-23337',
          source: { name: 'NVD' },
          analysis: {
            state: 'not_affected',
            justification: 'code_not_reachable',
            detail: 'template() is never called',
          },
          affects: [{ ref: 'lodash' }],
        },
      ];
      await importSbom(posture, {
        model: MODEL,
        firmware: '2.3.0',
        text: JSON.stringify(bom),
        source: 'vex.cdx.json',
      });
      const d = findingsOf(await postureReport(posture, NOW));
      assert.ok(!d.findings.some((f) => f.vulnerability === 'CVE-2021-23337'));
      const s = d.suppressed.find((f) => f.vulnerability === 'CVE-2021-23337')!;
      assert.match(s.statusReason!, /code_not_reachable: template\(\) is never called/);
    } finally {
      await cleanup();
    }
  });
});
