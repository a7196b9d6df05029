import type { Kysely } from 'kysely';
import type { MigrationContext } from '../migrate.ts';

/** Users, sessions, sign-in throttling, recovery codes, passkeys, and scopes on API tokens (issue #4). */
// biome-ignore lint/suspicious/noExplicitAny: migrations run before the schema type exists
export async function up(db: Kysely<any>, { blob, bigint, autoId }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    // 1 while the password is a one-time password set by an administrator or `vigil init`.
    .addColumn('must_change_password', 'integer', (c) => c.notNull())
    .addColumn('totp_sealed', blob)
    .addColumn('totp_pending_sealed', blob)
    .addColumn('totp_last_step', bigint)
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('password_changed_at', bigint, (c) => c.notNull())
    .addColumn('disabled_at', bigint)
    .execute();
  await db.schema
    .createTable('sessions')
    // Only a hash of the session id is stored: a copy of the database opens no session.
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('last_seen_at', bigint, (c) => c.notNull())
    .addColumn('expires_at', bigint, (c) => c.notNull())
    .addColumn('address', 'text')
    .addColumn('failed_codes', 'integer', (c) => c.notNull())
    // The outstanding WebAuthn challenge of this ticket or session, used once.
    .addColumn('challenge', 'text')
    .execute();
  await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();
  await db.schema
    .createTable('login_attempts')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('failures', 'integer', (c) => c.notNull())
    .addColumn('last_failure_at', bigint, (c) => c.notNull())
    .addColumn('locked_until', bigint, (c) => c.notNull())
    .execute();
  await autoId(db.schema.createTable('recovery_codes'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('used_at', bigint)
    .execute();
  await db.schema.createIndex('recovery_codes_user').on('recovery_codes').column('user_id').execute();
  await db.schema
    .createTable('webauthn_credentials')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('public_key', blob, (c) => c.notNull())
    .addColumn('counter', bigint, (c) => c.notNull())
    .addColumn('transports', 'text')
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('last_used_at', bigint)
    .execute();
  // A token's scopes narrow its role's permissions; NULL keeps every permission of the role.
  await db.schema.alterTable('api_tokens').addColumn('scopes', 'text').execute();
}
