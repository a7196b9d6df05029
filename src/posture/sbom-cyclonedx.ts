/**
 * CycloneDX 1.4-1.6 SBOMs. JSON is validated against the official schema that ships with
 * @cyclonedx/cyclonedx-library (ajv inside); XML is checked for well-formedness and the
 * CycloneDX namespace and structure (the library's XSD validation needs a native module).
 * Embedded VEX (`vulnerabilities[].analysis`, CycloneDX 1.4+) comes out as statements.
 */
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { parseCpe } from './cpe.ts';
import { describeLocation } from './json-location.ts';
import { parsePurl } from './purl.ts';
import type { Component, VexStatus } from './types.ts';

export interface ParsedSbom {
  format: 'cyclonedx-json' | 'cyclonedx-xml' | 'spdx-json';
  specVersion: string;
  components: Component[];
  /** VEX found in the SBOM, tied to component refs; the importer binds them to model/firmware. */
  vex: Array<{
    vulnerability: string;
    status: VexStatus;
    componentRefs: string[];
    justification: string | null;
  }>;
}

export class SbomError extends Error {}

const VERSIONS: Record<string, Spec.Version> = {
  '1.4': Spec.Version.v1dot4,
  '1.5': Spec.Version.v1dot5,
  '1.6': Spec.Version.v1dot6,
};
const validators = new Map<string, Validation.JsonValidator>();

/** CycloneDX `analysis.state` (1.4+) to the VEX status Vigil acts on. */
export function vexStatusFromCycloneDx(state: string): VexStatus | undefined {
  switch (state) {
    case 'not_affected':
    case 'false_positive':
      return 'not_affected';
    case 'resolved':
    case 'resolved_with_pedigree':
      return 'fixed';
    case 'in_triage':
      return 'under_investigation';
    case 'exploitable':
      return 'affected';
    default:
      return undefined;
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

function toComponent(c: Obj, where: string, fail: (where: string, reason: string) => never): Component {
  const purl = str(c.purl);
  if (purl !== null) {
    const p = parsePurl(purl);
    if (typeof p === 'string') fail(`${where}/purl`, p);
  }
  const cpe = str(c.cpe);
  if (cpe?.startsWith('cpe:2.3:')) {
    const p = parseCpe(cpe);
    if (typeof p === 'string') fail(`${where}/cpe`, p);
  }
  return {
    name: String(c.name ?? ''),
    version: str(c.version),
    purl,
    cpe,
    ref: str(c['bom-ref'] ?? c['@_bom-ref']),
  };
}

function walkComponents(
  list: unknown,
  where: string,
  out: Component[],
  fail: (where: string, reason: string) => never,
): void {
  if (!Array.isArray(list)) return;
  list.forEach((c, i) => {
    if (!isObj(c)) return;
    out.push(toComponent(c, `${where}/${i}`, fail));
    walkComponents(c.components, `${where}/${i}/components`, out, fail);
  });
}

export async function parseCycloneDxJson(text: string, doc: Obj): Promise<ParsedSbom> {
  const fail = (pointer: string, reason: string): never => {
    throw new SbomError(`CycloneDX ${describeLocation(text, pointer)}: ${reason}`);
  };
  const specVersion = String(doc.specVersion ?? '');
  const version = VERSIONS[specVersion];
  if (!version)
    fail('/specVersion', `specVersion "${specVersion.slice(0, 20)}" is not supported (1.4, 1.5 or 1.6)`);
  let validator = validators.get(specVersion);
  if (!validator) {
    validator = new Validation.JsonValidator(version!);
    validators.set(specVersion, validator);
  }
  const errors = (await validator.validate(text)) as Array<{
    instancePath: string;
    message?: string;
    params?: unknown;
  }> | null;
  if (errors && errors.length > 0) {
    const e = errors[0]!;
    const extra =
      isObj(e.params) && typeof e.params.additionalProperty === 'string'
        ? ` (${e.params.additionalProperty})`
        : '';
    fail(e.instancePath, `${e.message ?? 'is invalid'}${extra} per the CycloneDX ${specVersion} schema`);
  }
  const components: Component[] = [];
  const metadata = isObj(doc.metadata) ? doc.metadata : {};
  if (isObj(metadata.component))
    components.push(toComponent(metadata.component, '/metadata/component', fail));
  walkComponents(doc.components, '/components', components, fail);
  const vex: ParsedSbom['vex'] = [];
  const vulns = Array.isArray(doc.vulnerabilities) ? doc.vulnerabilities : [];
  vulns.forEach((v) => {
    if (!isObj(v) || !isObj(v.analysis) || typeof v.id !== 'string') return;
    const status = vexStatusFromCycloneDx(String(v.analysis.state ?? ''));
    if (!status) return;
    const refs = (Array.isArray(v.affects) ? v.affects : []).flatMap((a) =>
      isObj(a) && typeof a.ref === 'string' ? [a.ref] : [],
    );
    const justification =
      [str(v.analysis.justification), str(v.analysis.detail)].filter(Boolean).join(': ') || null;
    vex.push({ vulnerability: v.id, status, componentRefs: refs, justification });
  });
  return { format: 'cyclonedx-json', specVersion, components, vex };
}

const XML_ARRAYS = new Set(['component', 'vulnerability', 'target', 'ref']);

/** Elements inside one another; CycloneDX nests components, and each level is two elements. */
export const MAX_XML_DEPTH = 100;
const MAX_XML_ENTITY_CHARS = 10_000;

/**
 * fast-xml-parser refuses, by throwing plain Errors, elements deeper than maxNestedTags,
 * entities longer than maxEntitySize and names such as __proto__ (prototype pollution); each
 * becomes a refusal that says which limit the document broke.
 */
function readXml(text: string): Obj {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    isArray: (name) => XML_ARRAYS.has(name),
    parseTagValue: false,
    maxNestedTags: MAX_XML_DEPTH,
    processEntities: { enabled: true, maxEntitySize: MAX_XML_ENTITY_CHARS },
  });
  try {
    return parser.parse(text) as Obj;
  } catch (e) {
    const message = e instanceof Error ? e.message : '';
    if (message.includes('nested tags'))
      throw new SbomError(`CycloneDX XML: elements nested deeper than ${MAX_XML_DEPTH}`);
    const reserved = /^\[SECURITY\] Invalid name: ("[^"]{1,40}")/.exec(message);
    if (reserved)
      throw new SbomError(
        `CycloneDX XML: an element or attribute is named ${reserved[1]}, a name reserved in JavaScript; rename or remove it`,
      );
    if (/^Entity .* exceeds maximum/.test(message))
      throw new SbomError(
        `CycloneDX XML: a DOCTYPE entity is longer than ${MAX_XML_ENTITY_CHARS} characters`,
      );
    throw new SbomError(`CycloneDX XML could not be read: ${message.slice(0, 200) || 'unknown failure'}`);
  }
}

export function parseCycloneDxXml(text: string): ParsedSbom {
  const ok = XMLValidator.validate(text);
  if (ok !== true) {
    throw new SbomError(`CycloneDX XML at line ${ok.err.line}, column ${ok.err.col}: ${ok.err.msg}`);
  }
  const root = readXml(text);
  const bom = root.bom;
  if (!isObj(bom)) throw new SbomError('CycloneDX XML at /bom: the root element must be <bom>');
  const ns = String(bom['@_xmlns'] ?? '');
  const m = /^http:\/\/cyclonedx\.org\/schema\/bom\/(1\.[456])$/.exec(ns);
  if (!m) {
    throw new SbomError(
      `CycloneDX XML at /bom/@xmlns: namespace "${ns.slice(0, 80)}" is not CycloneDX 1.4, 1.5 or 1.6`,
    );
  }
  const fail = (where: string, reason: string): never => {
    throw new SbomError(`CycloneDX XML at ${where}: ${reason}`);
  };
  const components: Component[] = [];
  const walk = (container: unknown, where: string) => {
    if (!isObj(container)) return;
    const list = container.component;
    if (!Array.isArray(list)) return;
    list.forEach((c, i) => {
      const at = `${where}/component[${i + 1}]`;
      if (!isObj(c)) fail(at, 'a component must have child elements');
      const name = str(c.name);
      if (!name) fail(`${at}/name`, 'a component needs a <name>');
      if (typeof c['@_type'] !== 'string') fail(`${at}/@type`, 'a component needs a type attribute');
      components.push(toComponent(c, at, fail));
      walk(c.components, `${at}/components`);
    });
  };
  const metadata = isObj(bom.metadata) ? bom.metadata : {};
  // The parser reads every <component> as a list (see XML_ARRAYS), the one in <metadata> too;
  // the schema allows one there, the device firmware itself, which advisories often name.
  const described = Array.isArray(metadata.component) ? metadata.component[0] : metadata.component;
  if (isObj(described)) components.push(toComponent(described, '/bom/metadata/component', fail));
  walk(bom.components, '/bom/components');
  const vex: ParsedSbom['vex'] = [];
  const vulns =
    isObj(bom.vulnerabilities) && Array.isArray(bom.vulnerabilities.vulnerability)
      ? bom.vulnerabilities.vulnerability
      : [];
  for (const v of vulns) {
    if (!isObj(v) || !isObj(v.analysis)) continue;
    const status = vexStatusFromCycloneDx(String(v.analysis.state ?? ''));
    const id = str(v.id);
    if (!status || !id) continue;
    const targets = isObj(v.affects) && Array.isArray(v.affects.target) ? v.affects.target : [];
    const refs = targets.flatMap((t) =>
      isObj(t) && typeof t.ref === 'string'
        ? [t.ref]
        : isObj(t) && Array.isArray(t.ref)
          ? t.ref.filter((r): r is string => typeof r === 'string')
          : [],
    );
    const justification =
      [str(v.analysis.justification), str(v.analysis.detail)].filter(Boolean).join(': ') || null;
    vex.push({ vulnerability: id, status, componentRefs: refs, justification });
  }
  return { format: 'cyclonedx-xml', specVersion: m[1]!, components, vex };
}
