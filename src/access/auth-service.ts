import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { AuditInput } from '../audit/audit-log.ts';
import { VigilError } from '../errors/catalogue.ts';
import { type AttemptClaim, accountKey, addressKey, type LoginThrottle } from './login-throttle.ts';
import { hasSecondFactor, type Passkeys } from './passkeys.ts';
import { decoyHash, hashPassword, needsRehash, verifyPassword } from './passwords.ts';
import { parseRecoveryCode } from './recovery-codes.ts';
import type { UserIdentity } from './session-guard.ts';
import type { IssuedSession, SessionStore } from './sessions.ts';
import { verifyTotp } from './totp.ts';
import { parseUsername } from './usernames.ts';
import type { User, UserStore } from './users.store.ts';

export type { IssuedSession } from './sessions.ts';

/** A ticket allows this many wrong codes before it is spent and sign-in starts over. */
export const MAX_CODES_PER_TICKET = 5;

export interface AuthDeps {
  users: UserStore;
  sessions: SessionStore;
  throttle: LoginThrottle;
  passkeys?: Passkeys;
  audit: { append(input: AuditInput): Promise<void> };
  now?: () => number;
}

export interface SecondFactorProof {
  code?: string | undefined;
  recoveryCode?: string | undefined;
  passkey?: { response: AuthenticationResponseJSON; origin: string } | undefined;
}

export type LoginOutcome =
  | { kind: 'mfa'; ticket: string; expiresAt: number }
  | { kind: 'session'; session: IssuedSession };

/** The one answer for a wrong username, a wrong password and a disabled account alike. */
const loginFailed = () => new VigilError('VIGIL_ERR_AUTH_LOGIN_FAILED', 'the username or password is wrong');
const codeFailed = () =>
  new VigilError('VIGIL_ERR_AUTH_LOGIN_FAILED', 'the code is wrong or was already used');

/**
 * Sign-in (password, then TOTP, recovery code or passkey), password change and logout;
 * enrolling second factors is in enrolment.ts. Every outcome is audited with the source
 * address; no password, code, secret or session id ever reaches the audit trail.
 */
export class AuthService {
  private readonly now: () => number;
  constructor(private readonly deps: AuthDeps) {
    this.now = deps.now ?? Date.now;
  }

  async login(usernameInput: string, password: string, address: string | undefined): Promise<LoginOutcome> {
    const { users, sessions } = this.deps;
    const username = parseUsername(usernameInput);
    // Unknown usernames are throttled under what was typed, like known ones (bounded length).
    const keys = [
      accountKey(username ?? String(usernameInput).slice(0, 64)),
      ...(address ? [addressKey(address)] : []),
    ];
    const user = username ? await users.findByUsername(username) : undefined;
    const resource = user ? `User/${user.id}` : 'User/unknown';
    const attempt = await this.claimAttempt(keys, resource, address, 'auth.login');
    const isRight = await verifyPassword(user?.passwordHash ?? (await decoyHash()), password);
    if (!user || !isRight || user.disabledAt !== null) {
      await this.countFailure(attempt, resource, address, 'auth.login');
      throw loginFailed();
    }
    await this.deps.throttle.release(attempt);
    if (needsRehash(user.passwordHash)) await users.setPasswordHash(user.id, await hashPassword(password));
    await sessions.sweep();
    if (await this.hasSecondFactor(user)) {
      const ticket = await sessions.create(user.id, 'mfa', address);
      await this.audit('auth.password', user, 'success', address);
      return { kind: 'mfa', ticket: ticket.id, expiresAt: ticket.expiresAt };
    }
    // No second factor yet (a new account): a setup session that can only enrol one.
    await this.audit('auth.login.setup', user, 'success', address);
    return { kind: 'session', session: await this.issue(user, 'setup', address) };
  }

  /** Completes sign-in with a TOTP code, a recovery code or a passkey; the ticket is spent and a new session id issued. */
  async completeMfa(
    ticket: string,
    proof: SecondFactorProof,
    address: string | undefined,
  ): Promise<IssuedSession> {
    const { users, sessions, throttle } = this.deps;
    const pending = await sessions.find(ticket);
    const user = pending?.stage === 'mfa' ? await users.findById(pending.userId) : undefined;
    if (!pending || !user || user.disabledAt !== null) {
      throw new VigilError(
        'VIGIL_ERR_AUTH_LOGIN_FAILED',
        'the sign-in ticket is unknown or expired; sign in again',
      );
    }
    const keys = [accountKey(user.username), ...(address ? [addressKey(address)] : [])];
    const attempt = await this.claimAttempt(keys, `User/${user.id}`, address, 'auth.mfa');
    const method = proof.passkey ? 'passkey' : proof.recoveryCode !== undefined ? 'recovery-code' : 'totp';
    if (!(await this.checkSecondFactor(user, pending.idHash, proof))) {
      await this.countFailure(attempt, `User/${user.id}`, address, `auth.mfa.${method}`);
      if ((await sessions.countFailedCode(pending.idHash)) >= MAX_CODES_PER_TICKET)
        await sessions.end(pending.idHash);
      throw codeFailed();
    }
    await sessions.end(pending.idHash);
    await throttle.release(attempt);
    await throttle.recordSuccess(keys[0] as string);
    await this.audit(`auth.mfa.${method}`, user, 'success', address);
    await this.audit('auth.login', user, 'success', address);
    return this.issue(user, user.mustChangePassword ? 'setup' : 'full', address);
  }

  private async checkSecondFactor(user: User, ticketHash: string, proof: SecondFactorProof) {
    const { users, sessions, passkeys } = this.deps;
    if (proof.passkey) {
      const challenge = await sessions.takeChallenge(ticketHash);
      return (
        passkeys !== undefined &&
        challenge !== undefined &&
        (await passkeys.verify(user.id, proof.passkey.response, { challenge, origin: proof.passkey.origin }))
      );
    }
    if (proof.recoveryCode !== undefined) {
      const code = parseRecoveryCode(proof.recoveryCode);
      return code !== undefined && (await users.redeemRecoveryCode(user.id, code));
    }
    const secret = await users.totpSecret(user.id);
    if (!secret || proof.code === undefined) return false;
    const step = await verifyTotp(secret, proof.code, { nowMs: this.now(), afterStep: user.totpLastStep });
    return step !== undefined && (await users.advanceTotpStep(user.id, step));
  }

  /**
   * Changes the password after checking the current one, ends every session of the user
   * (a thief's included) and gives the caller a fresh one.
   */
  async changePassword(who: UserIdentity, current: string, next: string, address: string | undefined) {
    const { users, sessions } = this.deps;
    const user = await this.confirmPassword(who, current, address, 'user.password.change');
    if (current.normalize('NFKC') === next.normalize('NFKC'))
      throw new VigilError(
        'VIGIL_ERR_AUTH_PASSWORD_WEAK',
        'the new password must differ from the current one',
      );
    await users.setPassword(user.id, next, { oneTime: false });
    const ended = await sessions.endAllForUser(user.id);
    await this.audit('user.password.change', user, 'success', address);
    if (ended > 0) await this.audit('auth.sessions.end', user, 'success', address);
    const fresh = { ...user, mustChangePassword: false };
    return this.issue(fresh, (await this.hasSecondFactor(fresh)) ? 'full' : 'setup', address);
  }

  /**
   * Checks the current password of a signed-in user, throttled like sign-in, so that a stolen
   * session alone cannot change credentials (OWASP ASVS 3.0 V2.1/V3.7: re-authenticate first).
   */
  async confirmPassword(
    who: UserIdentity,
    password: string | undefined,
    address: string | undefined,
    action: string,
  ) {
    if (password === undefined)
      throw new VigilError(
        'VIGIL_ERR_REQUEST_INVALID',
        'send your current password as currentPassword to change a credential',
      );
    const user = await this.deps.users.findById(who.userId);
    if (!user) throw new VigilError('VIGIL_ERR_AUTH_REQUIRED', 'the session has ended; sign in again');
    const keys = [accountKey(user.username), ...(address ? [addressKey(address)] : [])];
    const attempt = await this.claimAttempt(keys, `User/${user.id}`, address, action);
    if (!(await verifyPassword(user.passwordHash, password))) {
      await this.countFailure(attempt, `User/${user.id}`, address, action);
      throw new VigilError('VIGIL_ERR_AUTH_LOGIN_FAILED', 'the current password is wrong');
    }
    await this.deps.throttle.release(attempt);
    return user;
  }

  /** WebAuthn options for a sign-in ticket; the challenge is kept on the ticket. */
  async passkeyOptionsForTicket(ticket: string) {
    const { sessions, passkeys } = this.deps;
    const pending = await sessions.find(ticket);
    if (!passkeys || pending?.stage !== 'mfa')
      throw new VigilError(
        'VIGIL_ERR_AUTH_LOGIN_FAILED',
        'the sign-in ticket is unknown or expired; sign in again',
      );
    const options = await passkeys.authenticationOptions(pending.userId);
    await sessions.setChallenge(pending.idHash, options.challenge);
    return options;
  }

  private hasSecondFactor(user: User): Promise<boolean> {
    return hasSecondFactor(user, this.deps.passkeys);
  }

  async logout(who: UserIdentity, address: string | undefined): Promise<void> {
    await this.deps.sessions.end(who.sessionIdHash);
    await this.deps.audit.append({
      actor: who.actor,
      action: 'auth.logout',
      resource: `User/${who.userId}`,
      outcome: 'success',
      source: address,
    });
  }

  private issue(user: User, stage: IssuedSession['stage'], address: string | undefined) {
    return this.deps.sessions.issue(user.id, stage, address);
  }

  /**
   * Counts the attempt before the password or code is checked, and refuses it while locked:
   * guesses sent in parallel then get no more tries than guesses sent one by one. A right
   * answer releases its attempt.
   */
  private async claimAttempt(
    keys: string[],
    resource: string,
    address: string | undefined,
    action: string,
  ): Promise<AttemptClaim> {
    const result = await this.deps.throttle.claim(keys);
    if ('claim' in result) return result.claim;
    const waitMs = result.lockedForMs;
    await this.deps.audit.append({
      actor: 'anonymous',
      action,
      resource,
      outcome: 'denied',
      source: address,
    });
    const seconds = Math.ceil(waitMs / 1000);
    throw new VigilError('VIGIL_ERR_AUTH_THROTTLED', `too many failed attempts; try again in ${seconds} s`, {
      cause: { retryAfterSeconds: seconds },
    });
  }

  /** The failure was counted when the attempt was claimed; this audits it and any lockout. */
  private async countFailure(
    attempt: AttemptClaim,
    resource: string,
    address: string | undefined,
    action: string,
  ) {
    const locked = attempt.locks;
    await this.deps.audit.append({
      actor: 'anonymous',
      action,
      resource,
      outcome: 'failure',
      source: address,
    });
    for (const l of locked) {
      await this.deps.audit.append({
        actor: 'system',
        action: 'auth.lockout',
        resource: l.key.startsWith('address:') ? `Address/${l.key.slice('address:'.length)}` : resource,
        outcome: 'success',
        source: address,
      });
    }
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
