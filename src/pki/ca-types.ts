/** A certificate and its private key, both PEM; the caller seals the key under the master key. */
export interface KeyPairPem {
  certPem: string;
  /** PKCS#8, PEM label 'PRIVATE KEY'. */
  keyPkcs8Pem: string;
}

/** The two-level device CA: an offline-able root and the issuing CA that signs every leaf. */
export interface DeviceCa {
  root: KeyPairPem;
  issuing: KeyPairPem;
}
