/**
 * The device side of enrollment: a key that never leaves the device and a CSR that proves it
 * holds it (RFC 7030 §4.2). The simulator and `vigil device enroll` both use this.
 */
import { VigilError } from '../errors/catalogue.ts';
import { isValidId } from '../errors/ids.ts';
import { distinguishedName } from './distinguished-names.ts';
import { ECDSA_SHA256, exportPkcs8Pem, generateP256KeyPair } from './ec-keys.ts';
import { x509 } from './x509-library.ts';

export interface DeviceKeyAndCsr {
  /** PKCS#8 PEM; write it with 0600 rights and never send it anywhere. */
  keyPkcs8Pem: string;
  csrPem: string;
}

/** A new P-256 key and a CSR with exactly CN=<deviceId>, signed by that key. */
export async function createDeviceKeyAndCsr(deviceId: string): Promise<DeviceKeyAndCsr> {
  if (!isValidId(deviceId)) {
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      `device id ${JSON.stringify(deviceId.slice(0, 80))} is not valid (1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit)`,
    );
  }
  const keys = await generateP256KeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: distinguishedName([['CN', deviceId]]),
    keys,
    signingAlgorithm: ECDSA_SHA256,
  });
  return { keyPkcs8Pem: exportPkcs8Pem(keys.privateKey), csrPem: `${csr.toString('pem').trimEnd()}\n` };
}
