import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import type { DeviceDirectory } from './device-directory.ts';
import { identifyDevice } from './device-identity.ts';

const VALID_FROM = 'Jan  1 00:00:00 2030 GMT';
const VALID_TO = 'Jan  2 00:00:00 2030 GMT';

/** A fake TLS socket whose peer is a verified certificate for dev-1 valid on 1 January 2030. */
function fakeSocket(): TLSSocket {
  const cert = { subject: { CN: 'dev-1' }, serialNumber: '0A', valid_from: VALID_FROM, valid_to: VALID_TO };
  return { authorized: true, getPeerCertificate: () => cert } as unknown as TLSSocket;
}

/** A fake directory in which every certificate is on record and no device is quarantined. */
const fakeDirectory = {
  certificateStanding: () => 'valid',
  isQuarantined: () => false,
} as unknown as DeviceDirectory;

const refusedFor = (nowMs: number) => {
  try {
    identifyDevice(fakeSocket(), fakeDirectory, nowMs);
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
};

describe('device identity', () => {
  it('accepts a certificate from its notBefore through its notAfter', () => {
    assert.equal(identifyDevice(fakeSocket(), fakeDirectory, Date.parse(VALID_FROM)), 'dev-1');
    assert.equal(identifyDevice(fakeSocket(), fakeDirectory, Date.parse(VALID_TO)), 'dev-1');
  });

  it('refuses a certificate after its notAfter, though TLS verified it (kept-alive or resumed)', () => {
    assert.equal(refusedFor(Date.parse(VALID_TO) + 1), 'VIGIL_ERR_TLS_BAD_CERT');
  });

  it('refuses a certificate before its notBefore', () => {
    assert.equal(refusedFor(Date.parse(VALID_FROM) - 1), 'VIGIL_ERR_TLS_BAD_CERT');
  });
});
