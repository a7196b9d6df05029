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
