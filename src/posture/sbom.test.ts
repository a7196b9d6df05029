import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { VigilError } from '../errors/catalogue.ts';
import { parseSbom } from './sbom.ts';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');

async function refusal(text: string): Promise<string> {
  try {
    await parseSbom(text, 'bad.json');
  } catch (e) {
    assert.ok(e instanceof VigilError, `expected a VigilError, got ${String(e)}`);
    assert.equal(e.code, 'VIGIL_ERR_POSTURE_BAD_SBOM');
    return e.detail;
  }
  assert.fail('the SBOM was accepted');
}

describe('SBOM import', () => {
  it('reads the same components from CycloneDX JSON, CycloneDX XML and SPDX', async () => {
    const summary = async (name: string) =>
      (await parseSbom(fixture(name))).components
        .filter((c) => c.purl)
        .map((c) => `${c.name}@${c.version}`)
        .sort();
    const cdx = await summary('infupro-2.3.0.cdx.json');
    assert.deepEqual(cdx, [
      'busybox@1.35.0',
      'lodash@4.17.20',
      'openssl@1.1.1n',
      'zlib1g@1:1.2.11.dfsg-2+deb11u1',
    ]);
    assert.deepEqual(await summary('infupro-2.3.0.cdx.xml'), cdx);
    assert.deepEqual(await summary('infupro-2.3.0.spdx.json'), cdx);
    const xml = await parseSbom(fixture('infupro-2.3.0.cdx.xml'));
    assert.equal(xml.specVersion, '1.6');
  });

  it('reads the metadata component of CycloneDX XML as JSON does', async () => {
    const all = async (name: string) =>
      (await parseSbom(fixture(name))).components.map((c) => `${c.name}@${c.version} ${c.cpe ?? c.purl}`);
    const json = await all('infupro-2.3.0.cdx.json');
    assert.equal(json.length, 5);
    assert.deepEqual(await all('infupro-2.3.0.cdx.xml'), json);
  });

  it('refuses a bad purl and says where it is', async () => {
    const bom = JSON.parse(fixture('infupro-2.3.0.cdx.json'));
    bom.components[2].purl = 'openssl@1.1.1n';
    const detail = await refusal(JSON.stringify(bom, null, 2));
    assert.match(detail, /at \/components\/2\/purl \(line \d+, column \d+\)/);
    assert.match(detail, /not a valid purl/);
  });

  it('refuses what the CycloneDX schema forbids, with the JSON pointer and line', async () => {
    const bom = JSON.parse(fixture('infupro-2.4.1.cdx.json'));
    bom.components[1].type = 'gadget';
    const detail = await refusal(JSON.stringify(bom, null, 2));
    assert.match(
      detail,
      /CycloneDX at \/components\/1\/type \(line \d+, column \d+\): must be equal to one of the allowed values/,
    );
  });

  it('refuses broken JSON with line and column', async () => {
    const text = fixture('infupro-2.3.0.spdx.json').replace('"SPDX-2.3",', '"SPDX-2.3"');
    const detail = await refusal(text);
    assert.match(detail, /not JSON at line 3, column \d+: expected ',' or '}'/);
  });

  it('refuses an SPDX document missing required fields, and an unsupported version', async () => {
    const doc = JSON.parse(fixture('infupro-2.3.0.spdx.json'));
    delete doc.packages[1].downloadLocation;
    assert.match(
      await refusal(JSON.stringify(doc, null, 1)),
      /SPDX at \/packages\/1 \(line \d+.*downloadLocation/,
    );
    doc.spdxVersion = 'SPDX-2.2';
    assert.match(await refusal(JSON.stringify(doc)), /SPDX at \/spdxVersion .*not supported/);
  });

  it('refuses malformed CycloneDX XML with line and column, and a wrong namespace', async () => {
    const xml = fixture('infupro-2.3.0.cdx.xml');
    assert.match(
      await refusal(xml.replace('</version>', '</versoin>')),
      /CycloneDX XML at line \d+, column \d+/,
    );
    assert.match(
      await refusal(xml.replace('bom/1.6', 'bom/1.2')),
      /namespace .* is not CycloneDX 1\.4, 1\.5 or 1\.6/,
    );
  });
});

describe('SBOM parser properties', () => {
  it('answers any text with an SBOM or a located VigilError, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.json(), fc.constant('<bom>')), async (text) => {
        try {
          await parseSbom(text);
        } catch (e) {
          assert.ok(e instanceof VigilError);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('refuses every single-field corruption of a valid CycloneDX SBOM with a location, or accepts it', async () => {
    const base = JSON.parse(fixture('infupro-2.3.0.cdx.json'));
    const field = fc.constantFrom('name', 'version', 'purl', 'type', 'bom-ref');
    await fc.assert(
      fc.asyncProperty(
        fc.nat(3),
        field,
        fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
        async (i, key, value) => {
          const bom = structuredClone(base);
          bom.components[i][key] = value;
          try {
            await parseSbom(JSON.stringify(bom, null, 2));
          } catch (e) {
            assert.ok(e instanceof VigilError);
            assert.match(e.detail, new RegExp(`/components/${i}`));
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('SBOM parser properties on hostile input', () => {
  const refusedOrRead = async (text: string) => {
    try {
      await parseSbom(text);
    } catch (e) {
      assert.ok(e instanceof VigilError, `expected a VigilError, got ${String(e)}`);
      assert.equal(e.code, 'VIGIL_ERR_POSTURE_BAD_SBOM');
    }
  };

  it('answers arbitrary bytes with an SBOM or its own refusal', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), async (bytes) => {
        await refusedOrRead(Buffer.from(bytes).toString('utf8'));
        await refusedOrRead(`<${Buffer.from(bytes).toString('latin1')}`);
      }),
      { numRuns: 200 },
    );
  });

  it('answers arbitrary JSON inside a CycloneDX document with an SBOM or its own refusal', async () => {
    const spec = fc.constantFrom('1.4', '1.5', '1.6', '2.0');
    await fc.assert(
      fc.asyncProperty(spec, fc.jsonValue(), fc.jsonValue(), async (specVersion, components, metadata) => {
        await refusedOrRead(
          JSON.stringify({ bomFormat: 'CycloneDX', specVersion, version: 1, components, metadata }),
        );
      }),
      { numRuns: 150 },
    );
  });

  it('answers components nested to any depth, in JSON or XML, with an SBOM or its own refusal', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4000 }), async (depth) => {
        await refusedOrRead(
          `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[${'{"type":"library","name":"x","components":['.repeat(depth)}${']}'.repeat(depth)}]}`,
        );
        await refusedOrRead(
          `<bom xmlns="http://cyclonedx.org/schema/bom/1.5"><components>${'<component type="library"><name>x</name><components>'.repeat(depth)}${'</components></component>'.repeat(depth)}</components></bom>`,
        );
      }),
      { numRuns: 20 },
    );
  });

  it('answers CycloneDX XML with any element and attribute names with an SBOM or its own refusal', async () => {
    const name = fc.oneof(
      fc.constantFrom('__proto__', 'constructor', 'prototype', 'component', 'name', 'purl', 'hasOwnProperty'),
      fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/),
    );
    await fc.assert(
      fc.asyncProperty(name, name, fc.string({ maxLength: 20 }), async (element, attribute, value) => {
        const text = value.replace(/[<>&"]/g, '');
        await refusedOrRead(
          `<bom xmlns="http://cyclonedx.org/schema/bom/1.5"><metadata><component type="device"><name>m</name><${element} ${attribute}="${text}">${text}</${element}></component></metadata><components><component type="library" ${attribute}="v"><name>x</name><${element}>${text}</${element}></component></components></bom>`,
        );
      }),
      { numRuns: 200 },
    );
  });
});
