import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import type { AuditInput } from '../audit/audit-log.ts';
import { VigilError } from '../errors/catalogue.ts';
import { hasSecondFactor, type Passkeys } from './passkeys.ts';
import type { UserIdentity } from './session-guard.ts';
import type { IssuedSession, SessionStore } from './sessions.ts';
import { newTotpSecret, totpUri, verifyTotp } from './totp.ts';
import type { User, UserStore } from './users.store.ts';

export interface EnrolmentDeps {
  /** Throws unless the password is the user's current one (throttled like sign-in). */
  confirmPassword(
    who: UserIdentity,
    password: string | undefined,
    address: string | undefined,
    action: string,
  ): Promise<User>;
  users: UserStore;
  sessions: SessionStore;
  passkeys?: Passkeys;
  audit: { append(input: AuditInput): Promise<void> };
  now?: () => number;
}

/**
 * Second factors for a signed-in user: TOTP, passkeys and recovery codes. The first factor
 * enrolled brings recovery codes (shown once); when it completes a setup session, the session
 * is replaced by a full one with a new id.
 */
export class Enrolment {
  private readonly now: () => number;
  constructor(private readonly deps: EnrolmentDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Starts (or restarts) TOTP enrolment: a new secret, pending until a code from it is
   * confirmed. Replacing an existing factor needs the current password too.
   */
  async beginTotp(
    who: UserIdentity,
    currentPassword: string | undefined,
    address: string | undefined,
  ): Promise<{ secret: string; uri: string }> {
    const user = await this.reauthenticateIfEnrolled(who, currentPassword, address, 'auth.totp.enrol.begin');
    const secret = newTotpSecret();
    await this.deps.users.setPendingTotp(user.id, secret);
    await this.audit('auth.totp.enrol.begin', user, 'success', address);
    return { secret, uri: totpUri(secret, user.username) };
  }

  /**
   * Confirms enrolment with a code from the new secret; returns fresh recovery codes (once) and,
   * when the account is now fully set up, a new full session replacing the setup one.
   */
  async confirmTotp(who: UserIdentity, code: string, address: string | undefined) {
    const { users, sessions } = this.deps;
    const user = await this.requireUser(who);
    const secret = await users.totpSecret(user.id, true);
    if (!secret)
      throw new VigilError('VIGIL_ERR_REQUEST_INVALID', 'start enrolment with POST /api/v1/auth/totp first');
    const step = await verifyTotp(secret, code, { nowMs: this.now() });
    if (step === undefined) {
      await this.audit('auth.totp.enrol', user, 'failure', address);
      throw new VigilError(
        'VIGIL_ERR_AUTH_LOGIN_FAILED',
        "the code does not match the new secret; check the device's clock",
      );
    }
    await users.activatePendingTotp(user.id, step);
    const recoveryCodes = await users.replaceRecoveryCodes(user.id);
    await this.audit('auth.totp.enrol', user, 'success', address);
    await this.endOtherSessions(user, who, address);
    let session: IssuedSession | undefined;
    if (who.stage === 'setup' && !user.mustChangePassword) {
      await sessions.end(who.sessionIdHash);
      session = await this.issue(user, 'full', address);
    }
    return { recoveryCodes, session };
  }

  /** Starts registering a passkey; the challenge is kept on the session. A further factor needs the password. */
  async beginPasskey(who: UserIdentity, currentPassword: string | undefined, address: string | undefined) {
    const user = await this.reauthenticateIfEnrolled(who, currentPassword, address, 'auth.passkey.register');
    const passkeys = this.requirePasskeys();
    const options = await passkeys.registrationOptions(user);
    await this.deps.sessions.setChallenge(who.sessionIdHash, options.challenge);
    return options;
  }

  /**
   * Registers the passkey; like TOTP enrolment, the first second factor brings recovery codes
   * (shown once) and, when the account is then fully set up, a new full session.
   */
  async finishPasskey(
    who: UserIdentity,
    response: RegistrationResponseJSON,
    origin: string,
    name: string,
    address: string | undefined,
  ) {
    const { users, sessions } = this.deps;
    const user = await this.requireUser(who);
    const passkeys = this.requirePasskeys();
    const challenge = await sessions.takeChallenge(who.sessionIdHash);
    if (!challenge) throw new VigilError('VIGIL_ERR_REQUEST_INVALID', 'ask for registration options first');
    const wasEnrolled = await this.hasSecondFactor(user);
    const passkey = await passkeys.register(user.id, response, { challenge, origin }, name);
    await this.audit('auth.passkey.register', user, 'success', address);
    const recoveryCodes = wasEnrolled ? undefined : await users.replaceRecoveryCodes(user.id);
    await this.endOtherSessions(user, who, address);
    let session: IssuedSession | undefined;
    if (who.stage === 'setup' && !user.mustChangePassword) {
      await sessions.end(who.sessionIdHash);
      session = await this.issue(user, 'full', address);
    }
    return { passkey, recoveryCodes, session };
  }

  /**
   * Removes one of the user's passkeys after checking the current password; false when they have
   * none with this id. Without the password a stolen session could drop the owner's passkey and
   * enrol the thief's own factor in its place.
   */
  async removePasskey(
    who: UserIdentity,
    id: string,
    currentPassword: string | undefined,
    address: string | undefined,
  ): Promise<boolean> {
    const user = await this.deps.confirmPassword(who, currentPassword, address, 'auth.passkey.remove');
    if (!(await this.requirePasskeys().remove(user.id, id))) return false;
    await this.audit('auth.passkey.remove', user, 'success', address);
    await this.endOtherSessions(user, who, address);
    return true;
  }

  async regenerateRecoveryCodes(
    who: UserIdentity,
    currentPassword: string | undefined,
    address: string | undefined,
  ): Promise<string[]> {
    const user = await this.deps.confirmPassword(
      who,
      currentPassword,
      address,
      'auth.recovery-codes.replace',
    );
    const codes = await this.deps.users.replaceRecoveryCodes(user.id);
    await this.audit('auth.recovery-codes.replace', user, 'success', address);
    await this.endOtherSessions(user, who, address);
    return codes;
  }

  /**
   * Only a setup session of an account with no second factor enrols without the password: that
   * is the first enrolment. A full session was earned with a second factor, so one with none
   * left has removed them, and enrolling must not become the password-free way to swap them.
   */
  private async reauthenticateIfEnrolled(
    who: UserIdentity,
    currentPassword: string | undefined,
    address: string | undefined,
    action: string,
  ): Promise<User> {
    const user = await this.requireUser(who);
    if (who.stage === 'setup' && !(await this.hasSecondFactor(user))) return user;
    return this.deps.confirmPassword(who, currentPassword, address, action);
  }

  /**
   * After any change of second factors, as after a password change (auth-service.ts): a session
   * stolen before the change must not outlive it, or the owner replacing a leaked factor would
   * leave the thief signed in (OWASP ASVS 5.0 V7.4.3). The session making the change is kept.
   */
  private async endOtherSessions(user: User, who: UserIdentity, address: string | undefined): Promise<void> {
    const ended = await this.deps.sessions.endAllForUser(user.id, who.sessionIdHash);
    if (ended > 0) await this.audit('auth.sessions.end', user, 'success', address);
  }

  private async requireUser(who: UserIdentity): Promise<User> {
    const user = await this.deps.users.findById(who.userId);
    if (!user) throw new VigilError('VIGIL_ERR_AUTH_REQUIRED', 'the session has ended; sign in again');
    return user;
  }

  private issue(user: User, stage: IssuedSession['stage'], address: string | undefined) {
    return this.deps.sessions.issue(user.id, stage, address);
  }

  private hasSecondFactor(user: User): Promise<boolean> {
    return hasSecondFactor(user, this.deps.passkeys);
  }

  private requirePasskeys(): Passkeys {
    if (!this.deps.passkeys) throw new VigilError('VIGIL_ERR_REQUEST_INVALID', 'passkeys are not configured');
    return this.deps.passkeys;
  }

  private audit(action: string, user: User, outcome: AuditInput['outcome'], address: string | undefined) {
    return this.deps.audit.append({
      actor: `user:${user.username}`,
      action,
      resource: `User/${user.id}`,
      outcome,
      source: address,
    });
  }
}
