/**
 * The device CA: a root that signs only the issuing CA, and an issuing CA that signs every
 * device and server certificate. Two levels let the root key stay sealed and unused between
 * issuing-CA rotations, while a compromised issuing CA is replaced without re-anchoring every
 * device (RFC 5280 §3.2).
 */
import type { webcrypto } from 'node:crypto';
import { VigilError } from '../errors/catalogue.ts';
import type { DeviceCa, KeyPairPem } from './ca-types.ts';
import { distinguishedName } from './distinguished-names.ts';
import { ECDSA_SHA256, exportPkcs8Pem, generateP256KeyPair, randomSerialHex } from './ec-keys.ts';
import { validityForYears } from './validity.ts';
import { x509 } from './x509-library.ts';

const ROOT_YEARS = 20;
const ISSUING_YEARS = 10;
/** Leaves a CN of "<organization> Device Issuing CA" within ub-common-name, 64 (RFC 5280 App. A). */
const MAX_ORGANIZATION_CHARS = 40;

const CA_KEY_USAGE = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;

/** Root CA and issuing CA, both ECDSA P-256 with SHA-256. */
export async function createDeviceCa(opts: { organization: string; now?: Date }): Promise<DeviceCa> {
  const organization = checkOrganization(opts.organization);
  const now = opts.now ?? new Date();
  const rootKeys = await generateP256KeyPair();
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialHex(),
    name: distinguishedName([
      ['O', organization],
      ['CN', `${organization} Device Root CA`],
    ]),
    keys: rootKeys,
    signingAlgorithm: ECDSA_SHA256,
    ...validityForYears(now, ROOT_YEARS),
    extensions: [
      // pathLen 1: the root may sign the issuing CA, which may sign only leaves (RFC 5280 §4.2.1.9).
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(CA_KEY_USAGE, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const issuing = await createIssuingCa(root, rootKeys.privateKey, organization, now);
  return {
    root: { certPem: certificatePem(root), keyPkcs8Pem: exportPkcs8Pem(rootKeys.privateKey) },
    issuing,
  };
}

async function createIssuingCa(
  root: x509.X509Certificate,
  rootKey: webcrypto.CryptoKey,
  organization: string,
  now: Date,
): Promise<KeyPairPem> {
  const keys = await generateP256KeyPair();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    // The issuer is the root's own encoded name, so name chaining compares equal bytes.
    issuer: root.subjectName,
    subject: distinguishedName([
      ['O', organization],
      ['CN', `${organization} Device Issuing CA`],
    ]),
    publicKey: keys.publicKey,
    signingKey: rootKey,
    signingAlgorithm: ECDSA_SHA256,
    ...validityForYears(now, ISSUING_YEARS),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(CA_KEY_USAGE, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      authorityKeyIdentifierFor(root),
    ],
  });
  return { certPem: certificatePem(cert), keyPkcs8Pem: exportPkcs8Pem(keys.privateKey) };
}

/** AKI copies the issuer's SKI (RFC 5280 §4.2.1.1), so path builders pick the right key. */
export function authorityKeyIdentifierFor(
  issuer: x509.X509Certificate,
): x509.AuthorityKeyIdentifierExtension {
  const ski = issuer.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski === null) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      `CA certificate "${issuer.subject}" has no subject key identifier; re-create the device CA`,
    );
  }
  return new x509.AuthorityKeyIdentifierExtension(ski.keyId);
}

/** The chain a leaf's holder presents after the leaf: issuing CA, then root (RFC 8446 §4.4.2 order). */
export function chainPemOf(ca: DeviceCa): string {
  return `${ca.issuing.certPem.trimEnd()}\n${ca.root.certPem.trimEnd()}\n`;
}

/** PEM with a final newline, so certificates concatenate into a valid chain file. */
export function certificatePem(cert: x509.X509Certificate): string {
  return `${cert.toString('pem').trimEnd()}\n`;
}

function checkOrganization(organization: string): string {
  const isPlain = organization.trim() === organization && !/\p{C}/u.test(organization);
  if (organization.length === 0 || organization.length > MAX_ORGANIZATION_CHARS || !isPlain) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      `organization ${JSON.stringify(organization.slice(0, 80))} must be 1-${MAX_ORGANIZATION_CHARS} printable characters without surrounding spaces`,
    );
  }
  return organization;
}
