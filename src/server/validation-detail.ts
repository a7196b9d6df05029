/**
 * The detail of a refused request: Ajv's first error, and for an unknown field its name and
 * where it sits. Vigil's schemas refuse unknown fields (`additionalProperties: false`, with
 * Ajv's `removeAdditional` off) rather than drop them: a misspelt field ("reasn") silently
 * ignored would store a change the caller did not mean, and a client should learn of it at once.
 */
interface AjvError {
  keyword?: unknown;
  instancePath?: unknown;
  message?: unknown;
  params?: { additionalProperty?: unknown; allowedValue?: unknown; allowedValues?: unknown };
}

export function validationDetail(error: {
  validation?: unknown;
  validationContext?: unknown;
  message?: string | undefined;
}): string {
  const raw: unknown[] = Array.isArray(error.validation) ? error.validation : [];
  const context = typeof error.validationContext === 'string' ? error.validationContext : 'request';
  const first = raw[0] as AjvError | null | undefined;
  const field = first?.params?.additionalProperty;
  if (first?.keyword === 'additionalProperties' && typeof field === 'string') {
    const where = `${context}${pathOf(first)}`;
    // The name is the caller's own input: quoted and cut short, never echoed whole.
    return `${where} has an unknown field ${JSON.stringify(field.slice(0, 64))}; remove it (unknown fields are refused, not ignored)`;
  }
  const errors = raw.filter((e): e is AjvError => typeof e === 'object' && e !== null);
  return (choicesDetail(errors, context) ?? error.message ?? 'invalid request').slice(0, 300);
}

function pathOf(e: AjvError): string {
  return typeof e.instancePath === 'string' ? e.instancePath : '';
}

/**
 * A value outside a union of literals (TypeBox's Type.Union of Type.Literal, e.g. ?format=pdf)
 * makes Ajv say "must be equal to constant" once per literal, then "must match a schema in
 * anyOf", and none of it names a literal. Such a place gets one "must be one of: md, html, json,
 * csv" instead; the errors of any other place keep Ajv's words, in the order Fastify gives them.
 * Undefined when no place was a choice of literals: Fastify's message stands as it was.
 */
export function choicesDetail(errors: readonly AjvError[], context: string): string | undefined {
  const byPath = new Map<string, AjvError[]>();
  for (const e of errors) {
    const path = pathOf(e);
    byPath.set(path, [...(byPath.get(path) ?? []), e]);
  }
  let isCollapsed = false;
  const parts = [...byPath].map(([path, atPath]) => {
    const choices = atPath.filter((e) => e.keyword === 'const' || e.keyword === 'enum');
    const isChoiceOnly = atPath.every((e) => choices.includes(e) || e.keyword === 'anyOf');
    if (choices.length === 0 || !isChoiceOnly) {
      return atPath
        .map((e) => `${context}${path} ${typeof e.message === 'string' ? e.message : 'is invalid'}`)
        .join(', ');
    }
    isCollapsed = true;
    const allowed = choices.flatMap((e) =>
      e.keyword === 'const'
        ? [e.params?.allowedValue]
        : Array.isArray(e.params?.allowedValues)
          ? (e.params.allowedValues as unknown[])
          : [],
    );
    const shown = [...new Set(allowed.map((v) => (typeof v === 'string' ? v : String(JSON.stringify(v)))))];
    return `${context}${path} must be one of: ${shown.join(', ')}`;
  });
  return isCollapsed ? parts.join(', ') : undefined;
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
