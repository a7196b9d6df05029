/**
 * `vigil posture ...` as an operator runs it: separate processes on one data dir, values on the
 * last line, --json, one clear line and a non-zero exit on bad input.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runVigil } from '../../test/support/cli-process.ts';
import { loadConfig } from '../config/config.ts';
import { DeviceStore } from '../devices/devices.store.ts';
import { initDataDir } from '../server/provision.ts';
import { openStore } from '../store/database.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');

const vigil = (args: string[], dataDir: string) =>
  runVigil(args, { env: { VIGIL_DATA_DIR: dataDir }, timeoutMs: 300_000 });

describe('vigil posture CLI', () => {
  let dir: string;
  let dataDir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-posture-cli-'));
    dataDir = join(dir, 'data');
    await initDataDir(loadConfig({ env: { VIGIL_DATA_DIR: dataDir, VIGIL_LOG_LEVEL: 'silent' } }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('adds a model, imports SBOMs and advisories, and reports a device finding as CSV', async () => {
    const model = await vigil(
      [
        'posture',
        'model',
        'add',
        '--model',
        'InfuPro 300',
        '--manufacturer',
        'Acme Medical',
        '--class',
        'infusion pump',
        '--criticality',
        'life-sustaining',
        '--end-of-support',
        '2031-01-01',
      ],
      dataDir,
    );
    assert.equal(model.code, 0, model.stderr);
    assert.equal(model.stdout.trim().split('\n').at(-1), 'InfuPro 300');
    const sbom = await vigil(
      [
        'posture',
        'sbom',
        'import',
        join(FIXTURES, 'infupro-2.3.0.cdx.xml'),
        '--model',
        'InfuPro 300',
        '--firmware',
        '2.3.0',
        '--json',
      ],
      dataDir,
    );
    assert.equal(sbom.code, 0, sbom.stderr);
    assert.equal((JSON.parse(sbom.stdout) as { format: string }).format, 'cyclonedx-xml');
    const adv = await vigil(
      ['posture', 'advisories', 'import', join(FIXTURES, 'advisories'), '--json'],
      dataDir,
    );
    assert.equal(adv.code, 0, adv.stderr);
    assert.equal(adv.stderr, '', 'no progress bar when stderr is not a terminal');
    assert.equal((JSON.parse(adv.stdout) as { advisories: { inserted: number } }).advisories.inserted, 4);
    const store = await openStore({ dataDir });
    await new DeviceStore(store.db).add({ id: 'pump-1', model: 'InfuPro 300', serial: 'S1' });
    await store.close();
    const profile = await vigil(
      ['posture', 'device', 'profile', '--id', 'pump-1', '--zone', 'guest', '--connection', 'legacy'],
      dataDir,
    );
    assert.equal(profile.code, 0, profile.stderr);
    // The firmware arrives with the device's status message; the CLI cannot fake that, so the
    // report shows the device without findings and says why.
    const out = join(dir, 'report.csv');
    const report = await vigil(['posture', 'report', '--format', 'csv', '--out', out], dataDir);
    assert.equal(report.code, 0, report.stderr);
    const csv = readFileSync(out, 'utf8');
    assert.match(csv, /^device,model,firmware/);
    assert.match(csv, /pump-1,InfuPro 300,,guest,legacy/);
  });

  it('changes nothing on a second import', async () => {
    const again = await vigil(
      ['posture', 'advisories', 'import', join(FIXTURES, 'advisories'), '--json'],
      dataDir,
    );
    const r = JSON.parse(again.stdout) as { files: number; skippedFiles: number };
    assert.equal(r.skippedFiles, r.files);
  });

  it('refuses a malformed SBOM with one line naming the place, and exits non-zero', async () => {
    const bad = join(dir, 'bad.cdx.json');
    const bom = JSON.parse(readFileSync(join(FIXTURES, 'infupro-2.4.1.cdx.json'), 'utf8'));
    bom.specVersion = '1.2';
    writeFileSync(bad, JSON.stringify(bom, null, 2));
    const r = await vigil(
      ['posture', 'sbom', 'import', bad, '--model', 'InfuPro 300', '--firmware', '2.4.1'],
      dataDir,
    );
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(
      r.stderr,
      /bad\.cdx\.json: CycloneDX at \/specVersion \(line 4, column 18\): specVersion "1\.2" is not supported/,
    );
  });

  it('refuses an unknown criticality before touching the store', async () => {
    const r = await vigil(
      [
        'posture',
        'model',
        'add',
        '--model',
        'X',
        '--manufacturer',
        'Y',
        '--class',
        'Z',
        '--criticality',
        'vital',
      ],
      dataDir,
    );
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--criticality must be one of/);
  });
});
