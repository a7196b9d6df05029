/**
 * `vigil user ...` as an operator meets it: a real child process per call against a real data
 * dir, checked against what the database then holds.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { verifyPassword } from '../src/access/passwords.ts';
import { SessionStore } from '../src/access/sessions.ts';
import { openStore } from '../src/store/database.ts';
import { runVigil } from './support/cli-process.ts';

const vigil = (args: string[]) => runVigil(args, { env: { USER: 'ops-test' } });

const lastLine = (s: string) => s.trim().split('\n').at(-1) ?? '';

describe('vigil user', () => {
  let dir: string;
  let db: Database.Database;
  const inDir = (...args: string[]) => vigil([...args, '--data-dir', dir]);
  const userRow = (name: string) =>
    db.prepare('SELECT * FROM users WHERE username = ?').get(name) as
      | {
          id: string;
          role: string;
          password_hash: string;
          must_change_password: number;
          disabled_at: number | null;
        }
      | undefined;
  const auditActions = (userId: string) =>
    (
      db
        .prepare('SELECT action, actor FROM audit_log WHERE resource = ? ORDER BY seq')
        .all(`User/${userId}`) as Array<{
        action: string;
        actor: string;
      }>
    ).map((r) => `${r.action} by ${r.actor}`);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-cli-users-'));
    const init = await vigil(['init', '--data-dir', dir]);
    assert.equal(init.code, 0, init.stderr);
    db = new Database(join(dir, 'vigil.db'), { readonly: true });
  });
  after(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds a user with a one-time password printed once, alone on the last line, and audits it', async () => {
    const r = await inDir('user', 'add', 'Nurse.Ada', '--role', 'clinician');
    assert.equal(r.code, 0, r.stderr);
    const otp = lastLine(r.stdout);
    assert.match(otp, /^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
    const row = userRow('nurse.ada');
    assert.ok(row, 'the username is stored in canonical lower case');
    assert.equal(row.role, 'clinician');
    assert.equal(row.must_change_password, 1);
    assert.equal(await verifyPassword(row.password_hash, otp), true);
    assert.deepEqual(auditActions(row.id), ['user.create by cli:ops-test']);
    assert.equal(r.stdout.split(otp).length, 2, 'the password appears once');
  });

  it('answers --json with one object', async () => {
    const r = await inDir('user', 'add', 'dr-bo', '--role', 'auditor', '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { username: string; role: string; oneTimePassword: string };
    assert.equal(out.username, 'dr-bo');
    assert.equal(out.role, 'auditor');
    assert.equal(await verifyPassword(userRow('dr-bo')?.password_hash ?? '', out.oneTimePassword), true);
  });

  it('lists users with role and status', async () => {
    const r = await inDir('user', 'list', '--json');
    assert.equal(r.code, 0, r.stderr);
    const { users } = JSON.parse(r.stdout) as {
      users: Array<{ username: string; role: string; status: string }>;
    };
    const ada = users.find((u) => u.username === 'nurse.ada');
    assert.deepEqual(ada && { role: ada.role, status: ada.status }, {
      role: 'clinician',
      status: 'one-time password',
    });
    assert.ok(users.some((u) => u.username === 'admin' && u.role === 'admin'));
    const human = await inDir('user', 'list');
    assert.match(human.stdout, /^nurse\.ada\s+clinician\s+one-time password/m);
  });

  it('resets a password and, with --mfa, the second factors; ends the sessions either way', async () => {
    const id = userRow('nurse.ada')?.id as string;
    const store = await openStore({ dataDir: dir });
    try {
      const sessions = new SessionStore(store.db);
      await sessions.create(id, 'full', undefined);
      await sessions.create(id, 'full', undefined);
    } finally {
      await store.close();
    }
    const before = userRow('nurse.ada')?.password_hash;
    const r = await inDir('user', 'reset', 'nurse.ada', '--mfa', '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { oneTimePassword: string; sessionsEnded: number; mfaReset: boolean };
    assert.equal(out.sessionsEnded, 2);
    assert.equal(out.mfaReset, true);
    const row = userRow('nurse.ada');
    assert.notEqual(row?.password_hash, before);
    assert.equal(await verifyPassword(row?.password_hash ?? '', out.oneTimePassword), true);
    assert.equal(row?.must_change_password, 1);
    const live = db.prepare('SELECT count(*) AS n FROM sessions WHERE user_id = ?').get(id) as { n: number };
    assert.equal(live.n, 0);
    const plain = await inDir('user', 'reset', 'nurse.ada');
    assert.equal(plain.code, 0, plain.stderr);
    assert.deepEqual(auditActions(id).slice(1), [
      'user.mfa.reset by cli:ops-test',
      'user.password.reset by cli:ops-test',
    ]);
  });

  it('disables a user, and enables them again', async () => {
    const id = userRow('dr-bo')?.id as string;
    const off = await inDir('user', 'disable', 'dr-bo');
    assert.equal(off.code, 0, off.stderr);
    assert.notEqual(userRow('dr-bo')?.disabled_at, null);
    const on = await inDir('user', 'enable', 'dr-bo');
    assert.equal(on.code, 0, on.stderr);
    assert.equal(userRow('dr-bo')?.disabled_at, null);
    assert.deepEqual(auditActions(id).slice(1), [
      'user.disable by cli:ops-test',
      'user.enable by cli:ops-test',
    ]);
  });

  it('refuses bad input with one line on stderr and a non-zero exit, changing nothing', async () => {
    const users = () => (db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n;
    const count = users();
    const cases: Array<[string[], RegExp]> = [
      [['user', 'add', 'eve', '--role', 'root'], /"root" is not a role/],
      [['user', 'add', 'eve'], /required option '--role <role>'/],
      [['user', 'add', 'x', '--role', 'admin'], /a username is 3-64 characters/],
      [['user', 'add', 'nurse.ada', '--role', 'admin'], /already exists/],
      [['user', 'add', 'eve', '--role', 'admin', '--no-such-flag'], /unknown option/],
      [['user', 'reset', 'nobody-here'], /no user named nobody-here/],
      [['user', 'disable'], /missing required argument/],
      [['user', 'frobnicate'], /unknown command/],
    ];
    for (const [args, message] of cases) {
      const r = await inDir(...args);
      assert.notEqual(r.code, 0, `${args.join(' ')} succeeded`);
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^vigil: /, args.join(' '));
    }
    assert.equal(users(), count);
  });

  it('documents every subcommand under --help', async () => {
    const top = await vigil(['user', '--help']);
    assert.equal(top.code, 0);
    for (const verb of ['add', 'reset', 'list', 'disable', 'enable'])
      assert.match(top.stdout, new RegExp(`^\\s+${verb}\\b`, 'm'));
    const reset = await vigil(['user', 'reset', '--help']);
    assert.equal(reset.code, 0);
    assert.match(reset.stdout, /--mfa/);
    assert.match(reset.stdout, /--data-dir/);
  });
});
