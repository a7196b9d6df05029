/** One entry point for SBOMs: detects the format and says, on refusal, where the problem is. */
import { VigilError } from '../errors/catalogue.ts';
import { excessNesting, parseJsonLocated } from './json-location.ts';
import { componentKeys } from './matcher.ts';
import { type ParsedSbom, parseCycloneDxJson, parseCycloneDxXml, SbomError } from './sbom-cyclonedx.ts';
import { parseSpdxJson } from './sbom-spdx.ts';

export type { ParsedSbom } from './sbom-cyclonedx.ts';

export const MAX_SBOM_BYTES = 50 * 1024 * 1024;
/** JSON arrays and objects inside one another: real SBOMs nest components a few levels deep. */
export const MAX_SBOM_JSON_DEPTH = 200;

export async function parseSbom(text: string, source = 'SBOM'): Promise<ParsedSbom> {
  const sbom = await parseSbomText(text, source);
  for (const c of sbom.components) c.keys = componentKeys(c);
  return sbom;
}

async function parseSbomText(text: string, source: string): Promise<ParsedSbom> {
  const fail = (reason: string): never => {
    throw new VigilError('VIGIL_ERR_POSTURE_BAD_SBOM', `${source}: ${reason}`);
  };
  if (text.length > MAX_SBOM_BYTES) fail(`larger than ${MAX_SBOM_BYTES / 1024 / 1024} MiB`);
  try {
    const trimmed = text.trimStart();
    if (trimmed.startsWith('<')) return parseCycloneDxXml(text);
    const deep = excessNesting(text, MAX_SBOM_JSON_DEPTH);
    if (deep)
      return fail(
        `nested deeper than ${MAX_SBOM_JSON_DEPTH} arrays and objects at line ${deep.line}, column ${deep.column}`,
      );
    const parsed = parseJsonLocated(text);
    if (!parsed.ok) return fail(`not JSON ${parsed.where}: ${parsed.reason}`);
    const doc = parsed.value;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
      return fail('not a JSON object at the document root');
    const d = doc as Record<string, unknown>;
    if (d.bomFormat === 'CycloneDX') return await parseCycloneDxJson(text, d);
    if ('spdxVersion' in d) return parseSpdxJson(text, d);
    return fail('neither CycloneDX (bomFormat) nor SPDX (spdxVersion) at the document root');
  } catch (e) {
    if (e instanceof SbomError) return fail(e.message);
    if (e instanceof VigilError) throw e;
    // A library failing on hostile input (a stack overflow, a limit of its own) is still a
    // refused upload, never a server error.
    return fail(`could not be read: ${e instanceof Error ? e.message.slice(0, 200) : 'unknown failure'}`);
  }
}
