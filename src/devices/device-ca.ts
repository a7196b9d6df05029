import type { Kysely } from 'kysely';
import type { KeyRing } from '../crypto/key-ring.ts';
import { VigilError } from '../errors/catalogue.ts';
import {
  buildCrl,
  CRL_VALIDITY_MS,
  createDeviceCa,
  type DeviceCa,
  issueServerCertificate,
} from '../pki/index.ts';
import type { Schema } from '../store/schema.ts';
import { DeviceStore } from './devices.store.ts';

/** Certificates are public and kept in settings; private keys are sealed under the master key. */
const ROOT_CERT = 'pki.root.cert';
const ISSUING_CERT = 'pki.issuing.cert';
const SERVER_CERT = 'tls.server.cert';
const SERVER_CHAIN = 'tls.server.chain';
const CRL_NUMBER = 'pki.crl.number';

export interface ServerTls {
  certPem: string;
  chainPem: string;
  keyPem: string;
}

async function putSetting(db: Kysely<Schema>, key: string, value: string): Promise<void> {
  await db
    .insertInto('settings')
    .values({ key, value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
    .execute();
}

async function getSetting(db: Kysely<Schema>, key: string): Promise<string> {
  const row = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
  if (!row)
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      `setting ${key} is missing; was "vigil init" run on this data dir?`,
    );
  return row.value;
}

export async function isProvisioned(db: Kysely<Schema>): Promise<boolean> {
  return (
    (await db.selectFrom('settings').select('key').where('key', '=', ROOT_CERT).executeTakeFirst()) !==
    undefined
  );
}

/** Creates the device CA and the server certificate for the given host names. */
export async function provisionPki(db: Kysely<Schema>, keys: KeyRing, hosts: string[]): Promise<DeviceCa> {
  const ca = await createDeviceCa({ organization: 'Vigil' });
  const server = await issueServerCertificate(ca, hosts);
  await keys.putSecret('pki.root.key', Buffer.from(ca.root.keyPkcs8Pem));
  await keys.putSecret('pki.issuing.key', Buffer.from(ca.issuing.keyPkcs8Pem));
  await putSetting(db, ROOT_CERT, ca.root.certPem);
  await putSetting(db, ISSUING_CERT, ca.issuing.certPem);
  await storeServerTls(db, keys, server);
  return ca;
}

/** Keeps a server certificate with its key, replacing the one before in one transaction. */
export async function storeServerTls(
  db: Kysely<Schema>,
  keys: KeyRing,
  server: { certPem: string; chainPem: string; keyPkcs8Pem: string },
): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await keys.replaceSecret('tls.server.key', Buffer.from(server.keyPkcs8Pem), tx);
    await putSetting(tx, SERVER_CERT, server.certPem);
    await putSetting(tx, SERVER_CHAIN, server.chainPem);
  });
}

export async function loadDeviceCa(db: Kysely<Schema>, keys: KeyRing): Promise<DeviceCa> {
  return {
    root: {
      certPem: await getSetting(db, ROOT_CERT),
      keyPkcs8Pem: (await keys.getSecret('pki.root.key')).toString(),
    },
    issuing: {
      certPem: await getSetting(db, ISSUING_CERT),
      keyPkcs8Pem: (await keys.getSecret('pki.issuing.key')).toString(),
    },
  };
}

export async function loadServerTls(db: Kysely<Schema>, keys: KeyRing): Promise<ServerTls> {
  return {
    certPem: await getSetting(db, SERVER_CERT),
    chainPem: await getSetting(db, SERVER_CHAIN),
    keyPem: (await keys.getSecret('tls.server.key')).toString(),
  };
}

export interface IssuedCrl {
  der: Buffer;
  /** Certificates it lists (revoked and not yet expired). */
  entries: number;
  thisUpdateMs: number;
  nextUpdateMs: number;
}

/**
 * Signs the device CA's revocation list of every revoked certificate on record. Its CRL number
 * must rise with every list (RFC 5280 §5.2.3): it is the issue time in ms, or one more than the
 * last number when the clock has gone back, kept in settings.
 */
export async function issueDeviceCrl(db: Kysely<Schema>, ca: DeviceCa, nowMs: number): Promise<IssuedCrl> {
  const revoked = await new DeviceStore(db).revokedCertificates();
  return db.transaction().execute(async (tx) => {
    const last = await tx
      .selectFrom('settings')
      .select('value')
      .where('key', '=', CRL_NUMBER)
      .executeTakeFirst();
    const previous = last === undefined ? -1n : BigInt(last.value);
    const crlNumber = BigInt(nowMs) > previous ? BigInt(nowMs) : previous + 1n;
    const { der, entries } = await buildCrl(ca, revoked, { nowMs, crlNumber });
    await putSetting(tx, CRL_NUMBER, crlNumber.toString());
    return { der, entries, thisUpdateMs: nowMs, nextUpdateMs: nowMs + CRL_VALIDITY_MS };
  });
}
