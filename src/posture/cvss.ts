/**
 * CVSS base scores computed from the vector (never trusted from a feed's number) with the
 * maintained ae-cvss-calculator: v4.0 (FIRST CVSS v4.0 §8), v3.1, v3.0 and v2.0.
 */
import { createRequire } from 'node:module';

// The package is CommonJS without ESM named exports; load it the way Node resolves it.
const lib = createRequire(import.meta.url)('ae-cvss-calculator') as typeof import('ae-cvss-calculator');

export interface CvssResult {
  version: '4.0' | '3.1' | '3.0' | '2.0';
  base: number;
  vector: string;
}

const cache = new Map<string, CvssResult | string>();

/** The first metric a vector names twice ("AV" in ".../AV:P/AV:N/..."), if any. */
function repeatedMetric(vector: string): string | undefined {
  const seen = new Set<string>();
  for (const part of vector.replace(/^\(|\)$/g, '').split('/')) {
    const name = part.split(':')[0] ?? '';
    if (seen.has(name)) return name.slice(0, 10);
    seen.add(name);
  }
  return undefined;
}

/** The base score of a vector, or an error text saying what is wrong with it. */
export function scoreVector(vector: string): CvssResult | string {
  const hit = cache.get(vector);
  if (hit !== undefined) return hit;
  let result: CvssResult | string;
  const repeated = repeatedMetric(vector);
  try {
    if (repeated !== undefined) {
      // The calculator lets the last one win; FIRST's refuses the vector, and so does this.
      result = `"${vector.slice(0, 80)}" gives metric ${repeated} more than once`;
    } else if (vector.startsWith('CVSS:4.0/')) {
      result = { version: '4.0', base: Number(new lib.Cvss4P0(vector).calculateScores().base), vector };
    } else if (vector.startsWith('CVSS:3.1/')) {
      result = { version: '3.1', base: Number(new lib.Cvss3P1(vector).calculateScores().base), vector };
    } else if (vector.startsWith('CVSS:3.0/')) {
      result = { version: '3.0', base: Number(new lib.Cvss3P0(vector).calculateScores().base), vector };
    } else if (/^\(?AV:[LAN]\//.test(vector)) {
      result = { version: '2.0', base: Number(new lib.Cvss2(vector).calculateScores().base), vector };
    } else result = `"${vector.slice(0, 80)}" is not a CVSS v2, v3.x or v4.0 vector`;
    if (typeof result !== 'string' && !(result.base >= 0 && result.base <= 10)) {
      result = `"${vector.slice(0, 80)}" gives no base score (a base metric is missing)`;
    }
  } catch (e) {
    result = `"${vector.slice(0, 80)}" is not a valid CVSS vector: ${(e as Error).message}`;
  }
  if (cache.size > 100_000) cache.clear();
  cache.set(vector, result);
  return result;
}
