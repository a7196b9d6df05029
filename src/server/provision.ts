import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ApiTokens } from '../access/api-tokens.ts';
import { UserStore } from '../access/users.store.ts';
import { AuditLog } from '../audit/audit-log.ts';
import type { VigilConfig } from '../config/config.ts';
import { KeyRing } from '../crypto/key-ring.ts';
import { createMasterKeyFile } from '../crypto/master-key.ts';
import { isProvisioned, provisionPki } from '../devices/device-ca.ts';
import { VigilError } from '../errors/catalogue.ts';
import { openStore } from '../store/database.ts';
import { replaceFile } from '../store/replace-file.ts';
import { serverHosts } from './server-tls.ts';

export interface InitResult {
  dataDir: string;
  caFile: string;
  adminToken: string;
  /** The first administrator's username and one-time password (changed at first sign-in). */
  adminUsername: string;
  adminPassword: string;
  /** `vigil demo` only: a clinician to sign in as, on the demo ward's care team. */
  clinician?: { username: string; password: string };
}

export interface InitOptions {
  /** Also create the demo's clinician user (DEMO_CLINICIAN) with a one-time password. */
  demoClinician?: boolean;
}

/** The demo ward's clinician: a user (and the demo's API token) of this name is on its care team. */
export const DEMO_CLINICIAN = 'demo-clinician';

export function isInitialized(config: VigilConfig): boolean {
  return existsSync(config.masterKeyFile) && existsSync(join(config.dataDir, 'ca.crt'));
}

/**
 * `vigil init`: a data directory with the database, master key, device CA, server certificate,
 * a first administrator user with a one-time password, and a first administrator API token;
 * both secrets are printed once and stored only as hashes.
 */
export async function initDataDir(config: VigilConfig, opts: InitOptions = {}): Promise<InitResult> {
  if (isInitialized(config)) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      `${config.dataDir} is already initialised; use it with "vigil serve", or choose another --data-dir`,
    );
  }
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const master = createMasterKeyFile(config.masterKeyFile);
  const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  try {
    if (await isProvisioned(store.db)) {
      throw new VigilError(
        'VIGIL_ERR_CONFIG_INVALID',
        'the database already holds a Vigil installation; point VIGIL_DATABASE_URL at an empty database',
      );
    }
    const keys = new KeyRing(store.db, master);
    const ca = await provisionPki(store.db, keys, serverHosts(config));
    const caFile = join(config.dataDir, 'ca.crt');
    // Whole and durable: a ca.crt lost to a power loss would leave a data dir that reads as not
    // initialised (isInitialized) beside a master key and a database that are.
    replaceFile(caFile, ca.root.certPem, 0o644);
    const admin = await new ApiTokens(store.db).create({
      role: 'admin',
      name: 'first-admin',
      ttlSeconds: 30 * 86400,
    });
    // The first person: a one-time password, printed once; TOTP enrolment at first sign-in.
    const users = new UserStore(store.db, keys);
    const { user, oneTimePassword } = await users.create({
      username: 'admin',
      role: 'admin',
    });
    // The demo's clinician signs in like any person: one-time password, then TOTP at first sign-in.
    const clinician = opts.demoClinician
      ? await users.create({ username: DEMO_CLINICIAN, role: 'clinician' })
      : undefined;
    const audit = new AuditLog(store.db);
    await audit.append({
      actor: 'system',
      action: 'system.init',
      resource: 'System',
      outcome: 'success',
    });
    await audit.append({
      actor: 'system',
      action: 'user.create.admin',
      resource: `User/${user.id}`,
      outcome: 'success',
    });
    if (clinician) {
      await audit.append({
        actor: 'system',
        action: 'user.create',
        resource: `User/${clinician.user.id}`,
        outcome: 'success',
      });
    }
    return {
      dataDir: config.dataDir,
      caFile,
      adminToken: admin.token,
      adminUsername: user.username,
      adminPassword: oneTimePassword as string,
      ...(clinician
        ? { clinician: { username: clinician.user.username, password: clinician.oneTimePassword as string } }
        : {}),
    };
  } finally {
    await store.close();
  }
}
