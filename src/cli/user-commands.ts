import { type Command, InvalidArgumentError } from 'commander';
import { isRole, ROLES, type Role } from '../access/roles.ts';
import { parseUsername } from '../access/usernames.ts';
import { type CommonFlags, withCommon } from './context.ts';
import type { UserAddFlags, UserResetFlags } from './user-actions.ts';

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

/**
 * `vigil user ...`: user administration from the operator console (local access to the data dir),
 * for the first days of a site and for when no administrator can sign in. The same changes as
 * the admin routes in access/user-routes.ts, audited under the same action names, with the
 * operator's login name as the actor.
 */
export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('people who sign in: add, reset, list, disable');

  withCommon(user.command('add').description('add a user with a one-time password (printed once)'))
    .argument('<name>', 'username (lower-case letters, digits, . _ @ -)', usernameArgument)
    .requiredOption('--role <role>', ROLES.join(', '), roleOption)
    .option('--email <address>', 'where urgent-alert notices go')
    .action(async (name: string, o: UserAddFlags) => (await import('./user-actions.ts')).userAdd(name, o));

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
    .action(async (name: string, o: UserResetFlags) =>
      (await import('./user-actions.ts')).userReset(name, o),
    );

  withCommon(user.command('list').description('list users, their roles and status')).action(
    async (o: CommonFlags) => (await import('./user-actions.ts')).userList(o),
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
      .action(async (name: string, o: CommonFlags) =>
        (await import('./user-actions.ts')).userSetDisabled(name, disabled, o),
      );
  }
}
