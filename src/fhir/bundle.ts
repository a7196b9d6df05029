/** A searchset Bundle (http://hl7.org/fhir/R4/bundle.html) with self and next links. */
export function searchset(
  selfUrl: string,
  baseUrl: string,
  resources: Array<{ resourceType: string; id: string }>,
  next?: string,
  total?: number,
) {
  return {
    resourceType: 'Bundle' as const,
    type: 'searchset' as const,
    ...(total === undefined ? {} : { total }),
    link: [{ relation: 'self', url: selfUrl }, ...(next ? [{ relation: 'next', url: next }] : [])],
    entry: resources.map((resource) => ({
      fullUrl: `${baseUrl}/${resource.resourceType}/${resource.id}`,
      resource,
      search: { mode: 'match' as const },
    })),
  };
}

/** The same search with one parameter replaced: how a next link carries the cursor. */
export function withParam(url: string, name: string, value: string): string {
  const u = new URL(url);
  u.searchParams.set(name, value);
  return u.toString();
}
