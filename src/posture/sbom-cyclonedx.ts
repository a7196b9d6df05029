/**
 * CycloneDX 1.4-1.6 SBOMs. JSON is validated with ajv against the official schema that ships
 * with @cyclonedx/cyclonedx-library, uniqueItems checked in linear time (see
 * withLinearUniqueItems); XML is checked for well-formedness and the CycloneDX namespace and
 * structure (the library's XSD validation needs a native module). Embedded VEX
 * (`vulnerabilities[].analysis`, CycloneDX 1.4+) comes out as statements.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv, type SchemaValidateFunction, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
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

/**
 * Components one SBOM may list, nested ones and the metadata component included. A device
 * firmware SBOM holds hundreds to a few thousand; each component is matched, stored and shown,
 * so a larger document is refused before any of that work.
 */
export const MAX_SBOM_COMPONENTS = 50_000;

const require = createRequire(import.meta.url);
/** ajv-formats-draft2019 ships no types; the library adds its idn-email format the same way. */
const addDraft2019Formats = require('ajv-formats-draft2019') as (
  ajv: Ajv,
  options: { formats: string[] },
) => Ajv;
const SCHEMA_DIR = join(
  dirname(require.resolve('@cyclonedx/cyclonedx-library/package.json')),
  'res',
  'schema',
);
const SCHEMA_FILES: Record<string, string> = {
  '1.4': 'bom-1.4.SNAPSHOT.schema.json',
  '1.5': 'bom-1.5.SNAPSHOT.schema.json',
  '1.6': 'bom-1.6.SNAPSHOT.schema.json',
};
/** The schemas the CycloneDX schema $refs by id, as the library itself registers them. */
const REFERENCED_SCHEMAS: Record<string, string> = {
  'http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json': 'spdx.SNAPSHOT.schema.json',
  'http://cyclonedx.org/schema/cryptography-defs.SNAPSHOT.schema.json':
    'cryptography-defs.SNAPSHOT.schema.json',
  'http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json': 'jsf-0.82.SNAPSHOT.schema.json',
};
const LINEAR_UNIQUE_ITEMS = 'vigilUniqueItems';
const validators = new Map<string, Promise<ValidateFunction>>();

/**
 * The schema with every `uniqueItems: true` renamed to a keyword Vigil checks itself. ajv
 * checks uniqueItems on arrays of objects by comparing every item with every other, on the
 * event loop: 20,000 components took 30 s and a 60,000-component upload stopped the server
 * for minutes.
 */
function withLinearUniqueItems(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withLinearUniqueItems);
  if (!isObj(schema)) return schema;
  return Object.fromEntries(
    Object.entries(schema).map(([k, v]) =>
      k === 'uniqueItems' && v === true ? [LINEAR_UNIQUE_ITEMS, true] : [k, withLinearUniqueItems(v)],
    ),
  );
}

const digests = new WeakMap<object, string>();

/**
 * A token for a JSON value that two values share exactly when they are equal as uniqueItems
 * compares them (JSON Schema 2020-12 §6.4.3: object key order does not matter, array order
 * does). Objects and arrays are hashed once each, over their children's tokens, so nested
 * arrays that each carry uniqueItems cost no more than the document's size.
 */
function equalityToken(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  const known = digests.get(value);
  if (known) return known;
  const hash = createHash('sha256');
  if (Array.isArray(value)) {
    hash.update('[');
    for (const item of value) hash.update(`${equalityToken(item)},`);
  } else {
    hash.update('{');
    const obj = value as Obj;
    for (const key of Object.keys(obj).sort())
      hash.update(`${JSON.stringify(key)}:${equalityToken(obj[key])},`);
  }
  const token = `#${hash.digest('hex')}`;
  digests.set(value, token);
  return token;
}

/**
 * uniqueItems in linear time, refusing with ajv's own message and indices: the last item that
 * repeats an earlier one, and the nearest earlier one it repeats.
 */
export function findDuplicateItems(
  items: readonly unknown[],
  tokenOf: (item: unknown) => string = equalityToken,
): { earlier: number; later: number } | null {
  const lastSeen = new Map<string, number>();
  let found: { earlier: number; later: number } | null = null;
  items.forEach((item, i) => {
    const token = tokenOf(item);
    const earlier = lastSeen.get(token);
    if (earlier !== undefined) found = { earlier, later: i };
    lastSeen.set(token, i);
  });
  return found;
}

const checkUniqueItems: SchemaValidateFunction = (isRequired: boolean, data: unknown) => {
  if (!isRequired || !Array.isArray(data) || data.length < 2) return true;
  const dup = findDuplicateItems(data);
  if (!dup) return true;
  checkUniqueItems.errors = [
    {
      keyword: 'uniqueItems',
      message: `must NOT have duplicate items (items ## ${dup.earlier} and ${dup.later} are identical)`,
      params: { i: dup.later, j: dup.earlier },
    },
  ];
  return false;
};

/** A schema file of @cyclonedx/cyclonedx-library as Vigil compiles it. */
export async function readCycloneDxSchema(name: string): Promise<unknown> {
  return withLinearUniqueItems(JSON.parse(await readFile(join(SCHEMA_DIR, name), 'utf8')));
}

async function compileValidator(file: string): Promise<ValidateFunction> {
  const referenced = await Promise.all(
    Object.entries(REFERENCED_SCHEMAS).map(
      async ([id, name]) => [id, await readCycloneDxSchema(name)] as const,
    ),
  );
  // The options @cyclonedx/cyclonedx-library compiles its own validator with.
  const ajv = new Ajv({
    useDefaults: false,
    strict: false,
    addUsedSchema: false,
    schemas: Object.fromEntries(referenced) as Record<string, object>,
  });
  // ajv-formats is CommonJS with a default export TypeScript cannot see under NodeNext.
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  addDraft2019Formats(ajv, { formats: ['idn-email'] });
  ajv.addFormat('iri-reference', true);
  ajv.addKeyword({ keyword: LINEAR_UNIQUE_ITEMS, type: 'array', errors: true, validate: checkUniqueItems });
  return ajv.compile((await readCycloneDxSchema(file)) as object);
}

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

/** Components in the document as walkComponents reads them, counted before any is read. */
function countComponents(doc: Obj): number {
  let count = isObj(doc.metadata) && isObj(doc.metadata.component) ? 1 : 0;
  const lists: unknown[] = [doc.components];
  while (lists.length > 0) {
    const list = lists.pop();
    if (!Array.isArray(list)) continue;
    count += list.length;
    for (const c of list) if (isObj(c)) lists.push(c.components);
  }
  return count;
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
  const schemaFile = SCHEMA_FILES[specVersion];
  if (!schemaFile)
    return fail(
      '/specVersion',
      `specVersion "${specVersion.slice(0, 20)}" is not supported (1.4, 1.5 or 1.6)`,
    );
  const count = countComponents(doc);
  if (count > MAX_SBOM_COMPONENTS)
    fail(
      '/components',
      `the SBOM lists ${count} components, more than the ${MAX_SBOM_COMPONENTS} Vigil accepts in one SBOM; list what ships in the device firmware, not its build environment`,
    );
  let compiled = validators.get(specVersion);
  if (!compiled) {
    compiled = compileValidator(schemaFile);
    validators.set(specVersion, compiled);
    // A failed compile (an unreadable schema file) is tried again on the next upload.
    compiled.catch(() => validators.delete(specVersion));
  }
  const validate = await compiled;
  const errors = validate(doc) ? null : validate.errors;
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
      if (components.length > MAX_SBOM_COMPONENTS)
        fail(
          at,
          `the SBOM lists more than the ${MAX_SBOM_COMPONENTS} components Vigil accepts in one SBOM; list what ships in the device firmware, not its build environment`,
        );
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
