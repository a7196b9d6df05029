/** What `vigil user ...` does, once user-commands.ts has parsed its arguments and flags. */
import type { Role } from '../access/roles.ts';
import { SessionStore } from '../access/sessions.ts';
import { newOneTimePassword, type User, UserStore } from '../access/users.store.ts';
import { AuditLog } from '../audit/audit-log.ts';
import { VigilError } from '../errors/catalogue.ts';
import type { Store } from '../store/database.ts';
import { type CommonFlags, cliActor } from './context.ts';
import { openLocal } from './open-local.ts';
import { emit } from './output.ts';

export type UserAddFlags = CommonFlags & { role: Role; email?: string };
export type UserResetFlags = CommonFlags & { mfa?: boolean };

interface Local {
  store: Store;
  users: UserStore;
  audit: AuditLog;
}

/** Opens the data dir, runs one command against its users, and always closes the store. */
async function withUsers<T>(flags: CommonFlags, job: (l: Local) => Promise<T>): Promise<T> {
  const { store, keys } = await openLocal(flags);
  try {
    return await job({ store, users: new UserStore(store.db, keys), audit: new AuditLog(store.db) });
  } finally {
    await store.close();
  }
}

async function existing(users: UserStore, username: string): Promise<User> {
  const user = await users.findByUsername(username);
  if (!user)
    throw new VigilError('VIGIL_ERR_USER_UNKNOWN', `no user named ${username}; see "vigil user list"`);
  return user;
}

const record = (audit: AuditLog, action: string, user: User) =>
  audit.append({ actor: cliActor(), action, resource: `User/${user.id}`, outcome: 'success', source: 'cli' });

export async function userAdd(name: string, o: UserAddFlags): Promise<void> {
  await withUsers(o, async ({ users, audit }) => {
    const { user: u, oneTimePassword } = await users.create({
      username: name,
      role: o.role,
      ...(o.email === undefined ? {} : { email: o.email }),
    });
    await record(audit, 'user.create', u);
    const otp = oneTimePassword as string;
    emit(
      o,
      { id: u.id, username: u.username, role: u.role, oneTimePassword: otp },
      [
        `user ${u.username} (${u.role}) added as ${u.id}`,
        'one-time password (shown once; changed and a second factor enrolled at first sign-in):',
      ],
      otp,
    );
  });
}

export async function userReset(name: string, o: UserResetFlags): Promise<void> {
  await withUsers(o, async ({ store, users, audit }) => {
    const u = await existing(users, name);
    // Without a second factor a password alone opens enrolment, so the password is always replaced.
    if (o.mfa) await users.clearSecondFactors(u.id);
    const otp = newOneTimePassword();
    await users.setPassword(u.id, otp, { oneTime: true });
    const ended = await new SessionStore(store.db).endAllForUser(u.id);
    await record(audit, o.mfa ? 'user.mfa.reset' : 'user.password.reset', u);
    emit(
      o,
      {
        id: u.id,
        username: u.username,
        oneTimePassword: otp,
        sessionsEnded: ended,
        mfaReset: o.mfa === true,
      },
      [
        `user ${u.username}: new one-time password, ${ended} session(s) ended${o.mfa ? ', second factors removed' : ''}`,
        'one-time password (shown once):',
      ],
      otp,
    );
  });
}

export async function userList(o: CommonFlags): Promise<void> {
  await withUsers(o, async ({ users, audit }) => {
    const all = await users.list();
    await audit.append({
      actor: cliActor(),
      action: 'user.list',
      resource: 'User',
      outcome: 'success',
      source: 'cli',
    });
    const rows = all.map((u) => ({
      id: u.id,
      username: u.username,
      role: u.role,
      status: u.disabledAt !== null ? 'disabled' : u.mustChangePassword ? 'one-time password' : 'active',
      mfa: u.hasTotp,
    }));
    emit(
      o,
      { users: rows },
      rows.length === 0
        ? ['no users']
        : rows.map(
            (r) =>
              `${r.username.padEnd(24)} ${r.role.padEnd(12)} ${r.status.padEnd(18)} ${r.mfa ? 'mfa' : 'no mfa'}  ${r.id}`,
          ),
    );
  });
}

/** `vigil user disable` (disabled) and `vigil user enable`. */
export async function userSetDisabled(name: string, disabled: boolean, o: CommonFlags): Promise<void> {
  await withUsers(o, async ({ store, users, audit }) => {
    const u = await existing(users, name);
    await users.setDisabled(u.id, disabled);
    const ended = disabled ? await new SessionStore(store.db).endAllForUser(u.id) : 0;
    await record(audit, disabled ? 'user.disable' : 'user.enable', u);
    emit(o, { id: u.id, username: u.username, disabled, sessionsEnded: ended }, [
      `user ${u.username} ${disabled ? `disabled, ${ended} session(s) ended` : 'enabled'}`,
    ]);
  });
}
