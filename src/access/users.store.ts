import { randomBytes, randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import { open, seal } from '../crypto/aead.ts';
import type { KeyRing } from '../crypto/key-ring.ts';
import { VigilError } from '../errors/catalogue.ts';
import { parseEmailAddress } from '../notify/email-address.ts';
import type { Schema } from '../store/schema.ts';
import { assertPasswordAcceptable } from './password-policy.ts';
import { hashPassword } from './passwords.ts';
import { newRecoveryCode, RECOVERY_CODE_COUNT, recoveryCodeHash } from './recovery-codes.ts';
import { isRole, ROLES, type Role } from './roles.ts';
import { parseUsername } from './usernames.ts';

export interface User {
  id: string;
  username: string;
  role: Role;
  passwordHash: string;
  mustChangePassword: boolean;
  hasTotp: boolean;
  totpLastStep: number | null;
  createdAt: number;
  passwordChangedAt: number;
  disabledAt: number | null;
  /** Where urgent-alert notices go; null when the user has none. */
  email: string | null;
}

const OTP_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
/** A one-time password: 20 characters, about 99 bits, grouped for reading aloud over the phone. */
export function newOneTimePassword(): string {
  let s = '';
  for (let i = 0; i < 20; i++) s += OTP_ALPHABET[randomInt(OTP_ALPHABET.length)];
  return s.match(/.{5}/g)?.join('-') ?? s;
}

const totpAad = (userId: string, pending: boolean) => `${pending ? 'totp-pending' : 'totp'}|${userId}`;

/** Users and their credentials. TOTP secrets are sealed under a system data key, never stored in clear. */
export class UserStore {
  constructor(
    private readonly db: Kysely<Schema>,
    private readonly keys: KeyRing,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Adds a user. Without a password, one is generated as a one-time password the user must
   * change at first sign-in; it is returned once and only its hash is kept.
   */
  async create(input: {
    username: string;
    role: string;
    password?: string;
    email?: string | null;
  }): Promise<{ user: User; oneTimePassword: string | undefined }> {
    const username = parseUsername(input.username);
    if (!username)
      throw new VigilError(
        'VIGIL_ERR_REQUEST_INVALID',
        'a username is 3-64 characters: lower-case letters, digits, ".", "_", "@" or "-", starting with a letter or digit',
      );
    if (!isRole(input.role))
      throw new VigilError(
        'VIGIL_ERR_REQUEST_INVALID',
        `role "${input.role.slice(0, 32)}" is unknown; use one of ${ROLES.join(', ')}`,
      );
    const email = input.email == null ? null : checkEmail(input.email);
    if (await this.findByUsername(username))
      throw new VigilError('VIGIL_ERR_USER_EXISTS', `a user named ${username} already exists`);
    const oneTimePassword = input.password === undefined ? newOneTimePassword() : undefined;
    const password = input.password ?? (oneTimePassword as string);
    if (input.password !== undefined) assertPasswordAcceptable(password, { username });
    const now = this.now();
    const id = `usr-${randomBytes(8).toString('hex')}`;
    await this.db
      .insertInto('users')
      .values({
        id,
        username,
        role: input.role,
        password_hash: await hashPassword(password),
        must_change_password: oneTimePassword === undefined ? 0 : 1,
        totp_sealed: null,
        totp_pending_sealed: null,
        totp_last_step: null,
        created_at: now,
        password_changed_at: now,
        disabled_at: null,
        email,
      })
      .execute();
    return { user: (await this.findById(id)) as User, oneTimePassword };
  }

  async findByUsername(username: string): Promise<User | undefined> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('username', '=', username)
      .executeTakeFirst();
    return row && toUser(row);
  }

  /** Sets or (with null) clears the address urgent-alert notices go to. */
  async setEmail(userId: string, email: string | null): Promise<void> {
    const value = email === null ? null : checkEmail(email);
    await this.db.updateTable('users').set({ email: value }).where('id', '=', userId).execute();
  }

  async findById(id: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toUser(row);
  }

  async list(): Promise<User[]> {
    const rows = await this.db.selectFrom('users').selectAll().orderBy('username').execute();
    return rows.map(toUser);
  }

  /** Checks the policy (unless it is an administrator's one-time password) and stores the new hash. */
  async setPassword(userId: string, password: string, opts: { oneTime: boolean }): Promise<void> {
    const user = await this.findById(userId);
    if (!user) throw new VigilError('VIGIL_ERR_USER_UNKNOWN', `no user ${userId}`);
    if (!opts.oneTime) assertPasswordAcceptable(password, { username: user.username });
    await this.db
      .updateTable('users')
      .set({
        password_hash: await hashPassword(password),
        must_change_password: opts.oneTime ? 1 : 0,
        password_changed_at: this.now(),
      })
      .where('id', '=', userId)
      .execute();
  }

  async setPasswordHash(userId: string, passwordHash: string): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ password_hash: passwordHash })
      .where('id', '=', userId)
      .execute();
  }

  async setRole(userId: string, role: Role): Promise<void> {
    await this.db.updateTable('users').set({ role }).where('id', '=', userId).execute();
  }

  async setDisabled(userId: string, disabled: boolean): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ disabled_at: disabled ? this.now() : null })
      .where('id', '=', userId)
      .execute();
  }

  async setPendingTotp(userId: string, secret: string): Promise<void> {
    const key = await this.keys.dataKey('system', 'totp');
    await this.db
      .updateTable('users')
      .set({ totp_pending_sealed: seal(key, Buffer.from(secret), totpAad(userId, true)) })
      .where('id', '=', userId)
      .execute();
  }

  /** The active (or, with `pending`, the not yet confirmed) TOTP secret. */
  async totpSecret(userId: string, pending = false): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('users')
      .select(['totp_sealed', 'totp_pending_sealed'])
      .where('id', '=', userId)
      .executeTakeFirst();
    const sealed = pending ? row?.totp_pending_sealed : row?.totp_sealed;
    if (!sealed) return undefined;
    const key = await this.keys.dataKey('system', 'totp');
    return open(key, sealed, totpAad(userId, pending)).toString('utf8');
  }

  /** Makes the pending secret the active one, from the step of the code that confirmed it. */
  async activatePendingTotp(userId: string, step: number): Promise<void> {
    const secret = await this.totpSecret(userId, true);
    if (!secret) throw new VigilError('VIGIL_ERR_REQUEST_INVALID', 'start TOTP enrolment first');
    const key = await this.keys.dataKey('system', 'totp');
    await this.db
      .updateTable('users')
      .set({
        totp_sealed: seal(key, Buffer.from(secret), totpAad(userId, false)),
        totp_pending_sealed: null,
        totp_last_step: step,
      })
      .where('id', '=', userId)
      .execute();
  }

  /** Records the step of an accepted code; false if another request used this step first. */
  async advanceTotpStep(userId: string, step: number): Promise<boolean> {
    const r = await this.db
      .updateTable('users')
      .set({ totp_last_step: step })
      .where('id', '=', userId)
      .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Removes every second factor (lost device): the user enrols again at next sign-in. */
  async clearSecondFactors(userId: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx
        .updateTable('users')
        .set({ totp_sealed: null, totp_pending_sealed: null, totp_last_step: null })
        .where('id', '=', userId)
        .execute();
      await tx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
      await tx.deleteFrom('webauthn_credentials').where('user_id', '=', userId).execute();
    });
  }

  /** Replaces all recovery codes of a user with fresh ones, returned once. */
  async replaceRecoveryCodes(userId: string): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    const now = this.now();
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
      await tx
        .insertInto('recovery_codes')
        .values(
          codes.map((c) => ({
            user_id: userId,
            code_hash: recoveryCodeHash(userId, c),
            created_at: now,
            used_at: null,
          })),
        )
        .execute();
    });
    return codes;
  }

  /** Uses a recovery code once; false when it is unknown or already used. */
  async redeemRecoveryCode(userId: string, code: string): Promise<boolean> {
    const r = await this.db
      .updateTable('recovery_codes')
      .set({ used_at: this.now() })
      .where('user_id', '=', userId)
      .where('code_hash', '=', recoveryCodeHash(userId, code))
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async unusedRecoveryCodes(userId: string): Promise<number> {
    const r = await this.db
      .selectFrom('recovery_codes')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }
}

function toUser(row: Schema['users']): User {
  return {
    id: row.id,
    username: row.username,
    role: isRole(row.role) ? row.role : 'patient',
    passwordHash: row.password_hash,
    mustChangePassword: row.must_change_password === 1,
    hasTotp: row.totp_sealed !== null,
    totpLastStep: row.totp_last_step,
    createdAt: row.created_at,
    passwordChangedAt: row.password_changed_at,
    disabledAt: row.disabled_at,
    email: row.email ?? null,
  };
}

function checkEmail(input: string): string {
  const email = parseEmailAddress(input);
  if (!email)
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      'email is not an address Vigil can send to (name@example.org, no spaces, quotes or angle brackets)',
    );
  return email;
}
