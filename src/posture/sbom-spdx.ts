/**
 * SPDX 2.3 JSON SBOMs (SPDX 2.3 spec §6 document creation, §7 packages, Annex F external
 * references). The document is checked with ajv against the fields Vigil relies on, which are
 * the ones the spec makes mandatory; purls come from PACKAGE-MANAGER `purl` references and
 * CPEs from SECURITY `cpe23Type` references.
 */
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { parseCpe } from './cpe.ts';
import { describeLocation } from './json-location.ts';
import { parsePurl } from './purl.ts';
import type { ParsedSbom } from './sbom-cyclonedx.ts';
import { SbomError } from './sbom-cyclonedx.ts';
import type { Component } from './types.ts';

const SPDX_23_SCHEMA = {
  type: 'object',
  required: ['spdxVersion', 'dataLicense', 'SPDXID', 'name', 'documentNamespace', 'creationInfo'],
  properties: {
    spdxVersion: { const: 'SPDX-2.3' },
    dataLicense: { const: 'CC0-1.0' },
    SPDXID: { const: 'SPDXRef-DOCUMENT' },
    name: { type: 'string', minLength: 1 },
    documentNamespace: { type: 'string', format: 'uri' },
    creationInfo: {
      type: 'object',
      required: ['created', 'creators'],
      properties: {
        created: { type: 'string', format: 'date-time' },
        creators: {
          type: 'array',
          minItems: 1,
          items: { type: 'string', pattern: '^(Person|Organization|Tool): ' },
        },
      },
    },
    packages: {
      type: 'array',
      items: {
        type: 'object',
        required: ['SPDXID', 'name', 'downloadLocation'],
        properties: {
          SPDXID: { type: 'string', pattern: '^SPDXRef-[A-Za-z0-9.-]+$' },
          name: { type: 'string', minLength: 1 },
          versionInfo: { type: 'string' },
          downloadLocation: { type: 'string', minLength: 1 },
          externalRefs: {
            type: 'array',
            items: {
              type: 'object',
              required: ['referenceCategory', 'referenceType', 'referenceLocator'],
              properties: {
                referenceCategory: {
                  enum: [
                    'SECURITY',
                    'PACKAGE-MANAGER',
                    'PERSISTENT-ID',
                    'OTHER',
                    'PACKAGE_MANAGER',
                    'PERSISTENT_ID',
                  ],
                },
                referenceType: { type: 'string', minLength: 1 },
                referenceLocator: { type: 'string', minLength: 1 },
              },
            },
          },
        },
      },
    },
  },
} as const;

let validate: ReturnType<Ajv['compile']> | undefined;

export function parseSpdxJson(text: string, doc: Record<string, unknown>): ParsedSbom {
  if (!validate) {
    const ajv = new Ajv({ allErrors: false, strict: false });
    (addFormats as unknown as (a: Ajv) => void)(ajv);
    validate = ajv.compile(SPDX_23_SCHEMA);
  }
  const fail = (pointer: string, reason: string): never => {
    throw new SbomError(`SPDX ${describeLocation(text, pointer)}: ${reason}`);
  };
  if (doc.spdxVersion !== 'SPDX-2.3') {
    fail(
      '/spdxVersion',
      `spdxVersion ${JSON.stringify(doc.spdxVersion ?? null).slice(0, 30)} is not supported (SPDX-2.3)`,
    );
  }
  if (!validate(doc)) {
    const e = validate.errors?.[0];
    fail(e?.instancePath ?? '', `${e?.message ?? 'is invalid'} per SPDX 2.3`);
  }
  const components: Component[] = [];
  const packages = (doc.packages ?? []) as Array<Record<string, unknown>>;
  packages.forEach((p, i) => {
    let purl: string | null = null;
    let cpe: string | null = null;
    const refs = (p.externalRefs ?? []) as Array<{ referenceType: string; referenceLocator: string }>;
    refs.forEach((r, j) => {
      if (r.referenceType === 'purl') {
        const parsed = parsePurl(r.referenceLocator);
        if (typeof parsed === 'string') fail(`/packages/${i}/externalRefs/${j}/referenceLocator`, parsed);
        purl ??= r.referenceLocator;
      } else if (r.referenceType === 'cpe23Type') {
        const parsed = parseCpe(r.referenceLocator);
        if (typeof parsed === 'string') fail(`/packages/${i}/externalRefs/${j}/referenceLocator`, parsed);
        cpe ??= r.referenceLocator;
      }
    });
    const version = typeof p.versionInfo === 'string' && p.versionInfo !== '' ? p.versionInfo : null;
    components.push({ name: String(p.name), version, purl, cpe, ref: String(p.SPDXID) });
  });
  return { format: 'spdx-json', specVersion: '2.3', components, vex: [] };
}
