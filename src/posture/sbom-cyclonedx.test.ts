import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VigilError } from '../errors/catalogue.ts';
import { parseSbom } from './sbom.ts';
import { findDuplicateItems, MAX_SBOM_COMPONENTS, readCycloneDxSchema } from './sbom-cyclonedx.ts';

const component = (i: number) => ({ type: 'library', name: `pkg${i}`, version: '1.0.0' });
const cycloneDx = (components: unknown[], specVersion = '1.5') =>
  JSON.stringify({ bomFormat: 'CycloneDX', specVersion, version: 1, components });

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

/** Every key of a JSON value, at any depth. */
function keysOf(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) keysOf(v, out);
  else if (typeof value === 'object' && value !== null)
    for (const [k, v] of Object.entries(value)) {
      out.add(k);
      keysOf(v, out);
    }
  return out;
}

describe('CycloneDX uniqueItems', () => {
  it('refuses duplicate components with the schema message and the indices ajv gave', async () => {
    const detail = await refusal(cycloneDx([component(0), component(1), component(2), component(1)]));
    assert.match(
      detail,
      /at \/components .*must NOT have duplicate items \(items ## 1 and 3 are identical\) per the CycloneDX 1\.5 schema/,
    );
  });

  it('treats components equal but for key order as duplicates, as the schema does', async () => {
    const reordered = { version: '1.0.0', name: 'pkg0', type: 'library' };
    const detail = await refusal(cycloneDx([component(0), reordered]));
    assert.match(detail, /items ## 0 and 1 are identical/);
  });

  it('refuses duplicates in nested component lists at their own pointer', async () => {
    const detail = await refusal(
      cycloneDx([{ ...component(0), components: [component(1), component(1)] }], '1.6'),
    );
    assert.match(detail, /at \/components\/0\/components .*items ## 0 and 1 are identical/);
  });

  it('accepts components that differ in one nested value', async () => {
    const a = { ...component(0), hashes: [{ alg: 'SHA-256', content: 'a'.repeat(64) }] };
    const b = { ...component(0), hashes: [{ alg: 'SHA-256', content: 'b'.repeat(64) }] };
    assert.equal((await parseSbom(cycloneDx([a, b]))).components.length, 2);
  });

  it('leaves no uniqueItems for ajv, whose check compares every item with every other', async () => {
    for (const file of [
      'bom-1.4.SNAPSHOT.schema.json',
      'bom-1.5.SNAPSHOT.schema.json',
      'bom-1.6.SNAPSHOT.schema.json',
      'jsf-0.82.SNAPSHOT.schema.json',
      'cryptography-defs.SNAPSHOT.schema.json',
      'spdx.SNAPSHOT.schema.json',
    ]) {
      const keys = keysOf(await readCycloneDxSchema(file));
      assert.ok(!keys.has('uniqueItems'), `${file} still has uniqueItems`);
    }
  });

  it('looks at each item once to find a duplicate', () => {
    const items = Array.from({ length: 1_000 }, (_, i) => ({ n: i % 999 }));
    let looks = 0;
    const found = findDuplicateItems(items, (item) => {
      looks++;
      return JSON.stringify(item);
    });
    assert.deepEqual(found, { earlier: 0, later: 999 });
    assert.equal(looks, items.length);
  });
});

describe('CycloneDX component cap', () => {
  it('reads an SBOM of exactly MAX_SBOM_COMPONENTS components', async () => {
    const components = Array.from({ length: MAX_SBOM_COMPONENTS }, (_, i) => component(i));
    assert.equal((await parseSbom(cycloneDx(components))).components.length, MAX_SBOM_COMPONENTS);
  });

  it('refuses one component more, naming the count and the limit', async () => {
    const components = Array.from({ length: MAX_SBOM_COMPONENTS }, (_, i) => component(i));
    components[0] = { ...component(0), components: [component(-1)] } as ReturnType<typeof component>;
    const detail = await refusal(cycloneDx(components));
    assert.match(
      detail,
      new RegExp(`lists ${MAX_SBOM_COMPONENTS + 1} components, more than the ${MAX_SBOM_COMPONENTS}`),
    );
  });

  it('refuses CycloneDX XML over the cap too', async () => {
    const body = Array.from(
      { length: MAX_SBOM_COMPONENTS + 1 },
      (_, i) => `<component type="library"><name>pkg${i}</name></component>`,
    ).join('');
    const detail = await refusal(
      `<?xml version="1.0"?><bom xmlns="http://cyclonedx.org/schema/bom/1.5"><components>${body}</components></bom>`,
    );
    assert.match(detail, new RegExp(`more than the ${MAX_SBOM_COMPONENTS} components`));
  });
});
