import { type Command, InvalidArgumentError } from 'commander';
import { isRole, ROLES, type Role } from '../access/roles.ts';
import { SessionStore } from '../access/sessions.ts';
import { newOneTimePassword, parseUsername, type User, UserStore } from '../access/users.store.ts';
import { AuditLog } from '../audit/audit-log.ts';
import { VigilError } from '../errors/catalogue.ts';
import type { Store } from '../store/database.ts';
import { type CommonFlags, openLocal, withCommon } from './context.ts';
import { emit } from './output.ts';

/**
 * `vigil user ...`: user administration from the operator console (local access to the data dir),
 * for the first days of a site and for when no administrator can sign in. The same changes as
 * the admin routes in access/user-routes.ts, audited under the same action names, with the
 * operator's login name as the actor.
 */
const actor = () => `cli:${process.env.USER ?? 'operator'}`;

function roleOption(value: string): Role {
  if (!isRole(value))
    throw new InvalidArgumentError(`"${value.slice(0, 32)}" is not a role; use one of ${ROLES.join(', ')}`);
  return value;
}

function usernameArgument(value: string): string {
  const name = parseUsername(value);
  if (!name)
    throw new InvalidArgumentError(
      'a username is 3-64 characters: lower-case letters, digits, ".", "_", "@" or "-", starting with a letter or digit',
    );
  return name;
}

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
  audit.append({ actor: actor(), action, resource: `User/${user.id}`, outcome: 'success', source: 'cli' });

export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('people who sign in: add, reset, list, disable');

  withCommon(user.command('add').description('add a user with a one-time password (printed once)'))
    .argument('<name>', 'username (lower-case letters, digits, . _ @ -)', usernameArgument)
    .requiredOption('--role <role>', ROLES.join(', '), roleOption)
    .option('--email <address>', 'where urgent-alert notices go')
    .action(async (name: string, o: CommonFlags & { role: Role; email?: string }) => {
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
    });

  withCommon(
    user
      .command('reset')
      .description(
        'give a user a new one-time password and end their sessions; --mfa also removes their second factors',
      ),
  )
    .argument('<name>', 'username', usernameArgument)
    .option(
      '--mfa',
      'remove TOTP, passkeys and recovery codes too (lost device): they enrol again at sign-in',
    )
    .action(async (name: string, o: CommonFlags & { mfa?: boolean }) => {
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
    });

  withCommon(user.command('list').description('list users, their roles and status')).action(
    async (o: CommonFlags) => {
      await withUsers(o, async ({ users, audit }) => {
        const all = await users.list();
        await audit.append({
          actor: actor(),
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
    },
  );

  for (const disabled of [true, false]) {
    withCommon(
      user
        .command(disabled ? 'disable' : 'enable')
        .description(
          disabled ? 'stop a user signing in and end their sessions' : 'let a disabled user sign in again',
        ),
    )
      .argument('<name>', 'username', usernameArgument)
      .action(async (name: string, o: CommonFlags) => {
        await withUsers(o, async ({ store, users, audit }) => {
          const u = await existing(users, name);
          await users.setDisabled(u.id, disabled);
          const ended = disabled ? await new SessionStore(store.db).endAllForUser(u.id) : 0;
          await record(audit, disabled ? 'user.disable' : 'user.enable', u);
          emit(o, { id: u.id, username: u.username, disabled, sessionsEnded: ended }, [
            `user ${u.username} ${disabled ? `disabled, ${ended} session(s) ended` : 'enabled'}`,
          ]);
        });
      });
  }
}
