/**
 * Vigil's own TLS server certificate, issued by the device CA so a device needs one trust
 * anchor (the root, `ca.crt`) for both enrollment and MQTT. Clients match the host they dialled
 * against the subjectAltName only (RFC 6125 §6.4.4, RFC 9110 §4.3.4), so every host is there:
 * names as dNSName, addresses as iPAddress (RFC 5280 §4.2.1.6).
 */
import { isIP } from 'node:net';
import { VigilError } from '../errors/catalogue.ts';
import type { DeviceCa, KeyPairPem } from './ca-types.ts';
import { certificatePem, chainPemOf } from './certificate-authority.ts';
import { issueEndEntity, loadIssuingCa } from './certificate-issuance.ts';
import { distinguishedName } from './distinguished-names.ts';
import { exportPkcs8Pem, generateP256KeyPair } from './ec-keys.ts';
import { x509 } from './x509-library.ts';

/** The most a publicly trusted TLS certificate may have had (CA/Browser Forum BR 6.3.2, 2018-2020). */
const SERVER_VALIDITY_DAYS = 825;
/** RFC 1035 §2.3.4 limits: labels of 1-63 letters, digits and inner hyphens, 253 in all. */
const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const MAX_DNS_NAME_CHARS = 253;
/** ub-common-name (RFC 5280 Appendix A). */
const MAX_COMMON_NAME_CHARS = 64;

export async function issueServerCertificate(
  ca: DeviceCa,
  hosts: string[],
  now: Date = new Date(),
): Promise<KeyPairPem & { chainPem: string }> {
  const names = subjectAltNamesFor(hosts);
  const issuer = await loadIssuingCa(ca, now);
  const keys = await generateP256KeyPair();
  const first = names[0]?.value ?? 'Vigil server';
  const cert = await issueEndEntity(issuer, {
    // The CN is for people reading the certificate; no client should look at it.
    subject: distinguishedName([['CN', first.length <= MAX_COMMON_NAME_CHARS ? first : 'Vigil server']]),
    publicKey: await x509.PublicKey.create(keys.publicKey),
    extendedKeyUsage: x509.ExtendedKeyUsage.serverAuth,
    validityDays: SERVER_VALIDITY_DAYS,
    now,
    subjectAltNames: names,
  });
  return {
    certPem: certificatePem(cert),
    keyPkcs8Pem: exportPkcs8Pem(keys.privateKey),
    chainPem: chainPemOf(ca),
  };
}

/** Each host as a SAN entry, duplicates dropped; a host that is neither IP nor DNS name is refused. */
function subjectAltNamesFor(hosts: readonly string[]): x509.JsonGeneralNames {
  if (hosts.length === 0) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      'no host names for the server certificate; set VIGIL_HOST',
    );
  }
  const seen = new Set<string>();
  const names: x509.JsonGeneralNames = [];
  for (const host of hosts) {
    const name = toGeneralName(host);
    if (seen.has(`${name.type}:${name.value}`)) continue;
    seen.add(`${name.type}:${name.value}`);
    names.push(name);
  }
  return names;
}

function toGeneralName(host: string): x509.JsonGeneralName {
  // A zone id ("fe80::1%eth0") names a local interface and has no place in a certificate.
  if (isIP(host) !== 0 && !host.includes('%')) return { type: 'ip', value: host };
  const name = host.toLowerCase();
  const isDnsName =
    name.length <= MAX_DNS_NAME_CHARS && name.split('.').every((label) => DNS_LABEL.test(label));
  if (!isDnsName) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      `host ${JSON.stringify(host.slice(0, 300))} is neither an IP address nor a DNS name; check VIGIL_HOST`,
    );
  }
  return { type: 'dns', value: name };
}
