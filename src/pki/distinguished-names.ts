/**
 * Subject names built from values, never from text that a library would interpret. Given a
 * plain string, @peculiar/x509 reads a leading '#' as hex DER, strips quotes and undoes
 * backslash escapes, so an organization named '"CN=evil"' would not come out as written.
 * Values passed as typed objects are encoded exactly, here always as UTF8String, the encoding
 * RFC 5280 §4.1.2.4 asks of new certificates.
 */
import { x509 } from './x509-library.ts';

export type NameAttribute = readonly [type: 'O' | 'CN', value: string];

/** A Name with one RDN per attribute, in the order given (the DER order, most general first). */
export function distinguishedName(attributes: readonly NameAttribute[]): x509.Name {
  return new x509.Name(attributes.map(([type, value]) => ({ [type]: [{ utf8String: value }] })));
}
