import { isIP } from 'node:net';
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import type { Kysely } from 'kysely';
import { VigilError } from '../errors/catalogue.ts';
import type { Schema } from '../store/schema.ts';

/**
 * WebAuthn passkeys (W3C WebAuthn Level 3) as a second factor, through @simplewebauthn/server.
 * The relying-party id is Vigil's host name (WebAuthn forbids IP addresses, so a server on an
 * IP answers as "localhost"); the browser binds each passkey to it, which is what makes
 * passkeys phishing-resistant. Attestation is not requested ("none"): Vigil trusts the user's
 * choice of authenticator and checks possession, as NIST SP 800-63B AAL2 needs.
 */
export function relyingPartyId(host: string): string {
  return isIP(host) !== 0 ? 'localhost' : host.toLowerCase();
}

/** A user has a second factor once TOTP is confirmed or a passkey registered. */
export async function hasSecondFactor(
  user: { id: string; hasTotp: boolean },
  passkeys: Passkeys | undefined,
) {
  return user.hasTotp || (passkeys !== undefined && (await passkeys.list(user.id)).length > 0);
}

export interface Passkey {
  id: string;
  userId: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

export class Passkeys {
  constructor(
    private readonly db: Kysely<Schema>,
    readonly rpId: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The origin the browser must report: https on the relying-party host, at the port it used. */
  expectedOrigin(hostHeader: string | undefined): string {
    const host = (hostHeader ?? '').toLowerCase();
    const name = host.replace(/:\d{1,5}$/, '');
    if (name !== this.rpId)
      throw new VigilError(
        'VIGIL_ERR_REQUEST_INVALID',
        `passkeys work at https://${this.rpId}, not at ${host.slice(0, 80) || 'this address'}`,
      );
    return `https://${host}`;
  }

  async list(userId: string): Promise<Passkey[]> {
    const rows = await this.db
      .selectFrom('webauthn_credentials')
      .select(['id', 'user_id', 'name', 'created_at', 'last_used_at'])
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      userId: r.user_id,
      name: r.name,
      createdAt: r.created_at,
      lastUsedAt: r.last_used_at,
    }));
  }

  async registrationOptions(user: {
    id: string;
    username: string;
  }): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const existing = await this.list(user.id);
    return generateRegistrationOptions({
      rpName: 'Vigil',
      rpID: this.rpId,
      userName: user.username,
      userID: new TextEncoder().encode(user.id),
      attestationType: 'none',
      excludeCredentials: existing.map((c) => ({ id: c.id })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    });
  }

  /** Verifies the browser's answer to the registration challenge and stores the new passkey. */
  async register(
    userId: string,
    response: RegistrationResponseJSON,
    expected: { challenge: string; origin: string },
    name: string,
  ): Promise<Passkey> {
    let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      verified = await verifyRegistrationResponse({
        response,
        expectedChallenge: expected.challenge,
        expectedOrigin: expected.origin,
        expectedRPID: this.rpId,
        requireUserVerification: false,
      });
    } catch (e) {
      throw new VigilError(
        'VIGIL_ERR_REQUEST_INVALID',
        `the passkey was not accepted: ${(e as Error).message.slice(0, 200)}`,
      );
    }
    if (!verified.verified) throw new VigilError('VIGIL_ERR_REQUEST_INVALID', 'the passkey was not accepted');
    const { credential } = verified.registrationInfo;
    const now = this.now();
    await this.db
      .insertInto('webauthn_credentials')
      .values({
        id: credential.id,
        user_id: userId,
        public_key: Buffer.from(credential.publicKey),
        counter: credential.counter,
        transports: credential.transports ? JSON.stringify(credential.transports) : null,
        name,
        created_at: now,
        last_used_at: null,
      })
      .execute();
    return { id: credential.id, userId, name, createdAt: now, lastUsedAt: null };
  }

  async authenticationOptions(userId: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const existing = await this.list(userId);
    return generateAuthenticationOptions({
      rpID: this.rpId,
      allowCredentials: existing.map((c) => ({ id: c.id })),
      userVerification: 'preferred',
    });
  }

  /**
   * Checks a signed assertion from one of the user's passkeys; false when it is not theirs, is
   * badly signed, or its signature counter went backwards (a cloned authenticator, §6.1.1).
   */
  async verify(
    userId: string,
    response: AuthenticationResponseJSON,
    expected: { challenge: string; origin: string },
  ): Promise<boolean> {
    const row = await this.db
      .selectFrom('webauthn_credentials')
      .selectAll()
      .where('id', '=', String(response?.id ?? ''))
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!row) return false;
    try {
      const result = await verifyAuthenticationResponse({
        response,
        expectedChallenge: expected.challenge,
        expectedOrigin: expected.origin,
        expectedRPID: this.rpId,
        credential: {
          id: row.id,
          publicKey: new Uint8Array(row.public_key),
          counter: row.counter,
          ...(row.transports ? { transports: JSON.parse(row.transports) as string[] } : {}),
        },
        requireUserVerification: false,
      });
      if (!result.verified) return false;
      await this.db
        .updateTable('webauthn_credentials')
        .set({ counter: result.authenticationInfo.newCounter, last_used_at: this.now() })
        .where('id', '=', row.id)
        .execute();
      return true;
    } catch {
      return false;
    }
  }

  async remove(userId: string, id: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('webauthn_credentials')
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }
}
