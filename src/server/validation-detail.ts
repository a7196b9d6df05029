/**
 * The detail of a refused request: Ajv's first error, and for an unknown field its name and
 * where it sits. Vigil's schemas refuse unknown fields (`additionalProperties: false`, with
 * Ajv's `removeAdditional` off) rather than drop them: a misspelt field ("reasn") silently
 * ignored would store a change the caller did not mean, and a client should learn of it at once.
 */
interface AjvError {
  keyword?: string;
  instancePath?: string;
  params?: { additionalProperty?: unknown };
}

export function validationDetail(error: {
  validation?: unknown;
  validationContext?: unknown;
  message?: string | undefined;
}): string {
  const first = Array.isArray(error.validation) ? (error.validation[0] as AjvError | undefined) : undefined;
  const field = first?.params?.additionalProperty;
  if (first?.keyword === 'additionalProperties' && typeof field === 'string') {
    const where = `${typeof error.validationContext === 'string' ? error.validationContext : 'request'}${first.instancePath ?? ''}`;
    // The name is the caller's own input: quoted and cut short, never echoed whole.
    return `${where} has an unknown field ${JSON.stringify(field.slice(0, 64))}; remove it (unknown fields are refused, not ignored)`;
  }
  return (error.message ?? 'invalid request').slice(0, 300);
}

/** The names of a querystring schema's integer properties (Type.Integer, optional or not). */
export function integerQueryNames(schema: unknown): string[] {
  const properties = (schema as { properties?: unknown } | undefined)?.properties;
  if (typeof properties !== 'object' || properties === null) return [];
  return Object.entries(properties as Record<string, { type?: unknown } | undefined>)
    .filter(([, property]) => property?.type === 'integer')
    .map(([name]) => name);
}

/**
 * The detail of an integer query parameter not written in decimal digits, or undefined. Ajv's
 * coercion runs Number() on the text, which takes ?limit=0x10, 1e2, 10.0 or " 10" (%2010) as
 * numbers the caller never wrote; checked in preValidation, while the query is still text.
 */
export function looseIntegerQuery(query: unknown, names: readonly string[]): string | undefined {
  if (typeof query !== 'object' || query === null) return undefined;
  for (const name of names) {
    if (!Object.hasOwn(query, name)) continue;
    for (const value of [(query as Record<string, unknown>)[name]].flat()) {
      if (typeof value !== 'string' || !/^\d+$/.test(value)) {
        // The caller's own text, quoted and cut short, as for an unknown field.
        const got = typeof value === 'string' ? JSON.stringify(value.slice(0, 20)) : `a ${typeof value}`;
        return `querystring/${name} must be a whole number in decimal digits, e.g. 100 (got ${got})`;
      }
    }
  }
  return undefined;
}
