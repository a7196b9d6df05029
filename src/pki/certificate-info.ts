/**
 * Reading a certificate, and the one serial-number form that both enrollment (which records a
 * serial) and the TLS listeners (which look it up) use.
 */
import { X509Certificate } from 'node:crypto';
import { VigilError } from '../errors/catalogue.ts';
import { decodeSinglePem } from './pem.ts';
import { x509 } from './x509-library.ts';

export interface CertificateInfo {
  /** normalizeSerial() form. */
  serialHex: string;
  /** The subject's only CN; undefined when there is none or more than one. */
  commonName: string | undefined;
  /** Issuer DN in RFC 4514 form, e.g. "O=Vigil, CN=Vigil Device Issuing CA". */
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 of the DER, uppercase hex pairs joined by ':', as Node's TLS getPeerCertificate() gives it. */
  fingerprint256: string;
}

/** Certificates seen here are a few hundred bytes; this bounds work on a hostile one. */
const MAX_CERTIFICATE_PEM_CHARS = 64 * 1024;
const FIRST_CERTIFICATE = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]*-----END CERTIFICATE-----/;
const SERIAL_HEX = /^[0-9a-f]{1,256}$/;

/**
 * Facts about the first certificate in `pem` (a leaf followed by its chain is fine, the leaf
 * comes first by TLS convention). Throws VIGIL_ERR_TLS_BAD_CERT when there is no readable one.
 */
export function certificateInfo(pem: string): CertificateInfo {
  try {
    const block = pem.length <= MAX_CERTIFICATE_PEM_CHARS ? FIRST_CERTIFICATE.exec(pem)?.[0] : undefined;
    if (block === undefined) throw new Error('no PEM "CERTIFICATE" block');
    const der = decodeSinglePem(block, ['CERTIFICATE'], MAX_CERTIFICATE_PEM_CHARS);
    // Serial and fingerprint come from OpenSSL, the same code that serves getPeerCertificate().
    const native = new X509Certificate(der);
    const parsed = new x509.X509Certificate(der);
    const commonNames = parsed.subjectName.getField('CN');
    return {
      serialHex: normalizeSerial(native.serialNumber),
      commonName: commonNames.length === 1 ? commonNames[0] : undefined,
      issuer: parsed.issuer,
      notBefore: parsed.notBefore,
      notAfter: parsed.notAfter,
      fingerprint256: native.fingerprint256,
    };
  } catch (cause) {
    if (cause instanceof VigilError) throw cause;
    throw new VigilError(
      'VIGIL_ERR_TLS_BAD_CERT',
      'the certificate is not a readable PEM X.509 certificate',
      { cause },
    );
  }
}

/**
 * One spelling for a serial number: lowercase hex, no separators, no leading zeros ("0" for
 * zero). Node's TLS prints OpenSSL's uppercase byte-padded hex ("0A1B"), @peculiar/x509 and
 * openssl's `-text` print other variants ("0a1b", "0a:1b", a "00" sign byte before 0x80);
 * all name the same INTEGER (RFC 5280 §4.1.2.2), so all map to "a1b".
 */
export function normalizeSerial(serial: string): string {
  const hex = serial.replace(/[:\s]/g, '').toLowerCase();
  if (!SERIAL_HEX.test(hex)) {
    throw new VigilError(
      'VIGIL_ERR_TLS_BAD_CERT',
      `serial number ${JSON.stringify(serial.slice(0, 80))} is not hexadecimal`,
    );
  }
  return hex.replace(/^0+(?=.)/, '');
}
