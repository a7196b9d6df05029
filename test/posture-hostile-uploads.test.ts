/** Hostile SBOM and advisory uploads are refused with problem documents, never a 500. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { withInfuProModel } from './support/posture-model.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

const CDX_XML_NS = 'http://cyclonedx.org/schema/bom/1.5';

const nestedJsonComponents = (depth: number) =>
  `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[${'{"type":"library","name":"x","components":['.repeat(depth)}${']}'.repeat(depth)}]}`;
const nestedXmlComponents = (depth: number) =>
  `<bom xmlns="${CDX_XML_NS}"><components>${'<component type="library"><name>x</name><components>'.repeat(depth)}${'</components></component>'.repeat(depth)}</components></bom>`;
const nestedCsafBranches = (depth: number) =>
  `{"document":{"csaf_version":"2.0","title":"t","tracking":{"id":"X-1","current_release_date":"2026-01-01T00:00:00Z"}},"product_tree":{"branches":[${'{"category":"vendor","name":"v","branches":['.repeat(depth)}${']}'.repeat(depth)}]}}`;

describe('posture uploads built to break the parsers', () => {
  let h: Harness;
  let security: string;
  before(async () => {
    h = await startHarness();
    security = await withInfuProModel(h);
  });
  after(async () => h.stop());

  const refusedSbom = async (document: string, detail: RegExp) => {
    const r = await h.api('/api/v1/posture/sboms', {
      method: 'POST',
      token: security,
      body: { model: 'InfuPro 300', firmware: '9.9', document },
    });
    assert.equal(r.status, 422, r.text);
    const problem = r.json as { code: string; detail: string };
    assert.equal(problem.code, 'VIGIL_ERR_POSTURE_BAD_SBOM');
    assert.match(problem.detail, detail);
  };
  const refusedAdvisory = async (document: string, detail: RegExp) => {
    const r = await h.api('/api/v1/posture/advisories', {
      method: 'POST',
      token: security,
      body: { name: 'hostile.json', document },
    });
    assert.equal(r.status, 422, r.text);
    const problem = r.json as { code: string; detail: string };
    assert.equal(problem.code, 'VIGIL_ERR_POSTURE_BAD_ADVISORY');
    assert.match(problem.detail, detail);
  };

  it('refuses CycloneDX JSON components nested 3000 deep', async () => {
    await refusedSbom(nestedJsonComponents(3000), /nested deeper than 200 arrays and objects at line 1/);
  });

  it('refuses CycloneDX XML components nested 200 deep', async () => {
    await refusedSbom(nestedXmlComponents(200), /elements nested deeper than 100/);
  });

  it('refuses an XML DOCTYPE entity longer than 10,000 characters', async () => {
    const doc = `<?xml version="1.0"?><!DOCTYPE bom [<!ENTITY a "${'x'.repeat(20_000)}">]><bom xmlns="${CDX_XML_NS}"><components><component type="library"><name>&a;</name></component></components></bom>`;
    await refusedSbom(doc, /DOCTYPE entity is longer than 10000 characters/);
  });

  for (const name of ['__proto__', 'constructor']) {
    it(`refuses an XML element named ${name}`, async () => {
      const doc = `<bom xmlns="${CDX_XML_NS}"><components><component type="library"><name>x</name><${name}><a>1</a></${name}></component></components></bom>`;
      await refusedSbom(doc, new RegExp(`named "${name}"`));
    });
  }

  it('refuses a CSAF product tree nested 5000 branches deep', async () => {
    await refusedAdvisory(nestedCsafBranches(5000), /nested deeper than 200 arrays and objects/);
  });

  it('refuses CSAF branches nested deeper than 32 levels, with where', async () => {
    await refusedAdvisory(
      nestedCsafBranches(40),
      /\/product_tree(\/branches\/0){32}\/branches.*deeper than 32 levels/,
    );
  });

  it('refuses a device model whose end of support is not a day in the calendar', async () => {
    const r = await h.api('/api/v1/posture/models', {
      method: 'PUT',
      token: security,
      body: {
        model: 'InfuPro 300',
        manufacturer: 'Acme Medical',
        deviceClass: 'infusion pump',
        criticality: 'life-sustaining',
        endOfSupport: '2026-02-31',
        encryption: 'in-transit',
        authentication: 'shared-secret',
        patchability: 'manual',
      },
    });
    assert.equal(r.status, 400, r.text);
    const problem = r.json as { code: string; detail: string };
    assert.equal(problem.code, 'VIGIL_ERR_REQUEST_INVALID');
    assert.match(problem.detail, /"2026-02-31" is not a day in the calendar/);
  });
});
