/** The PKI domain's public surface: device CA, server and device certificates, certificate facts. */
export type { DeviceCa, KeyPairPem } from './ca-types.ts';
export { createDeviceCa } from './certificate-authority.ts';
export { type CertificateInfo, certificateInfo, normalizeSerial } from './certificate-info.ts';
export { buildCrl, CRL_VALIDITY_MS, crlToPem, type RevokedCertificate } from './crl.ts';
export { DEFAULT_DEVICE_VALIDITY_DAYS, type SignedDeviceCertificate, signDeviceCsr } from './csr-signing.ts';
export { MAX_CSR_PEM_CHARS } from './csr-validation.ts';
export { createDeviceKeyAndCsr, type DeviceKeyAndCsr } from './device-credentials.ts';
export {
  answerOcspRequest,
  type CertificateStatusLookup,
  type IssuedCertificateStatus,
  loadOcspSigner,
  lookUpStatuses,
  OCSP_VALIDITY_MS,
  type OcspAnswer,
  type OcspQuestion,
  type OcspSigner,
  readOcspQuestion,
  signOcspAnswer,
  unsignedAnswer,
} from './ocsp.ts';
export { MAX_OCSP_REQUEST_BYTES, ocspRequestFromGetPath } from './ocsp-request.ts';
export { issueServerCertificate } from './server-certificate.ts';
