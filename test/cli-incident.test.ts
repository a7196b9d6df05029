/**
 * `vigil device list / revoke / quarantine / release` and `vigil token list / revoke`: the
 * operator's console in an incident, as an operator meets it (a real child process per call
 * against a real data dir), checked against what the database then holds.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { runVigil } from './support/cli-process.ts';

const vigil = (args: string[]) => runVigil(args, { env: { USER: 'ops-test' } });
const lines = (s: string) => s.trim().split('\n');

describe('vigil device and token commands on a data dir', { timeout: 240_000 }, () => {
  let dir: string;
  let db: Database.Database;
  const inDir = (...args: string[]) => vigil([...args, '--data-dir', dir]);
  const ok = async (...args: string[]) => {
    const r = await inDir(...args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const audit = (resource: string) =>
    db
      .prepare('SELECT action, actor, purpose, source FROM audit_log WHERE resource = ? ORDER BY seq')
      .all(resource) as Array<{
      action: string;
      actor: string;
      purpose: string | null;
      source: string | null;
    }>;
  const auditCount = () => (db.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n;
  const deviceEvents = (id: string) =>
    db
      .prepare('SELECT type, actor, reason FROM device_events WHERE device_id = ? ORDER BY id')
      .all(id) as Array<{
      type: string;
      actor: string;
      reason: string | null;
    }>;
  const status = (id: string) =>
    (db.prepare('SELECT status FROM devices WHERE id = ?').get(id) as { status: string } | undefined)?.status;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-cli-incident-'));
    const init = await vigil(['init', '--data-dir', dir]);
    assert.equal(init.code, 0, init.stderr);
    db = new Database(join(dir, 'vigil.db'), { readonly: true });
    await ok('patient', 'add', '--id', 'pat-1', '--name', 'Ada Okafor');
    await ok(
      'device',
      'add',
      '--id',
      'ox-1',
      '--model',
      'Nonin 3230',
      '--serial',
      'SN-1',
      '--patient',
      'pat-1',
    );
    await ok('device', 'add', '--id', 'ox-2', '--model', 'Masimo\u001b[2J', '--serial', 'SN-2');
  });
  after(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('vigil device list', () => {
    it('shows id, model, serial, status, enrolment, last seen and patient in a table', async () => {
      const r = await ok('device', 'list');
      const [header, ...rows] = lines(r.stdout);
      assert.match(header ?? '', /^ID\s+MODEL\s+SERIAL\s+STATUS\s+ENROLLED\s+LAST SEEN\s+PATIENT$/);
      assert.match(rows[0] ?? '', /^ox-1\s+Nonin 3230\s+SN-1\s+registered\s+no\s+never\s+pat-1$/);
      // Text from the store cannot reach the terminal as an escape sequence.
      assert.ok(!r.stdout.includes('\u001b'));
      assert.match(rows[1] ?? '', /^ox-2\s+Masimo \[2J\s+SN-2\s+registered\s+no\s+never\s+-$/);
      assert.equal(rows.length, 2);
    });

    it("answers --json with the API's device view", async () => {
      const r = await ok('device', 'list', '--json');
      const { devices } = JSON.parse(r.stdout) as {
        devices: Array<{
          id: string;
          model: string;
          status: string;
          patientId: string | null;
          enrolled: boolean;
          enrolledAt: string | null;
          lastSeen: string | null;
        }>;
      };
      assert.deepEqual(
        devices.map((d) => [d.id, d.status, d.patientId, d.enrolled, d.enrolledAt, d.lastSeen]),
        [
          ['ox-1', 'registered', 'pat-1', false, null, null],
          ['ox-2', 'registered', null, false, null, null],
        ],
      );
      assert.equal(devices[1]?.model, 'Masimo\u001b[2J', 'JSON keeps the stored text as it is');
    });
  });

  describe('vigil device quarantine and release', () => {
    it('quarantines in the store with one device_events row, and leaves the audit and the security event to the relay', async () => {
      const before = auditCount();
      const r = await ok('device', 'quarantine', '--id', 'ox-1', '--reason', 'unexpected traffic');
      assert.equal(status('ox-1'), 'quarantined');
      assert.deepEqual(deviceEvents('ox-1'), [
        { type: 'quarantined', actor: 'cli:ops-test', reason: 'unexpected traffic' },
      ]);
      // The server's relay writes them from the row; written here as well, they would be doubled.
      assert.equal(auditCount(), before, 'no audit entry from the CLI');
      const events = db
        .prepare("SELECT count(*) AS n FROM security_events WHERE device_id = 'ox-1'")
        .get() as {
        n: number;
      };
      assert.equal(events.n, 0, 'no security event from the CLI');
      assert.match(r.stdout, /^device ox-1 quarantined: unexpected traffic$/m);
      assert.match(r.stdout, /within about a second/);
      assert.match(r.stdout, /otherwise at its next start/);
      const listed = await ok('device', 'list');
      assert.match(listed.stdout, /QUARANTINE REASON/);
      assert.match(listed.stdout, /^ox-1\s.*\squarantined\s.*\sunexpected traffic$/m);
    });

    it('records a second quarantine as another step, saying the device was quarantined already', async () => {
      const r = await ok('device', 'quarantine', '--id', 'ox-1', '--reason', 'still beaconing', '--json');
      assert.deepEqual(JSON.parse(r.stdout), {
        id: 'ox-1',
        status: 'quarantined',
        reason: 'still beaconing',
      });
      assert.equal(deviceEvents('ox-1').length, 2);
      const human = await ok('device', 'quarantine', '--id', 'ox-1', '--reason', 'third look');
      assert.match(human.stdout, /was quarantined already/);
    });

    it('releases a quarantined device with one device_events row', async () => {
      const before = auditCount();
      const r = await ok('device', 'release', '--id', 'ox-1', '--json');
      assert.deepEqual(JSON.parse(r.stdout), { id: 'ox-1', status: 'active', released: true });
      assert.equal(status('ox-1'), 'active');
      assert.deepEqual(deviceEvents('ox-1').at(-1), {
        type: 'released',
        actor: 'cli:ops-test',
        reason: null,
      });
      assert.equal(auditCount(), before, 'the relay audits the release');
    });

    it('says a device that is not quarantined has nothing to release, exits 0 as the route answers 200, and records nothing', async () => {
      const events = deviceEvents('ox-2').length;
      const r = await ok('device', 'release', '--id', 'ox-2');
      assert.match(r.stdout, /^device ox-2 is not quarantined \(status: registered\); nothing to release/);
      const json = await ok('device', 'release', '--id', 'ox-2', '--json');
      assert.deepEqual(JSON.parse(json.stdout), { id: 'ox-2', status: 'registered', released: false });
      assert.equal(deviceEvents('ox-2').length, events);
      assert.equal(status('ox-2'), 'registered');
    });
  });

  describe('vigil device revoke', () => {
    it('spends unused enrollment tokens and audits device.revoke once, with the reason', async () => {
      await ok('device', 'token', '--id', 'ox-2');
      const unused = () =>
        (
          db
            .prepare(
              "SELECT count(*) AS n FROM enrollment_tokens WHERE device_id = 'ox-2' AND used_at IS NULL",
            )
            .get() as { n: number }
        ).n;
      assert.ok(unused() > 0);
      const r = await ok('device', 'revoke', '--id', 'ox-2', '--reason', 'reported stolen', '--json');
      assert.deepEqual(JSON.parse(r.stdout), { id: 'ox-2', revokedCertificates: 0 });
      assert.equal(unused(), 0);
      assert.deepEqual(
        audit('Device/ox-2').filter((a) => a.action === 'device.revoke'),
        [{ action: 'device.revoke', actor: 'cli:ops-test', purpose: 'reported stolen', source: 'cli' }],
      );
      const human = await ok('device', 'revoke', '--id', 'ox-2', '--reason', 'reported stolen');
      assert.match(human.stdout, /^device ox-2 had no valid certificate/);
      assert.match(human.stdout, /vigil device token --id ox-2/);
    });
  });

  describe('vigil token list and revoke', () => {
    let id: string;
    let secret: string;

    before(async () => {
      const r = await ok(
        'token',
        'create',
        '--role',
        'integration',
        '--name',
        'ehr-bridge',
        '--ttl',
        '2h',
        '--json',
      );
      ({ id, token: secret } = JSON.parse(r.stdout) as { id: string; token: string });
    });

    it('lists tokens with id, name, role, scopes, status and dates, and never a secret', async () => {
      const r = await ok('token', 'list');
      const [header, ...rows] = lines(r.stdout);
      assert.match(header ?? '', /^ID\s+NAME\s+ROLE\s+SCOPES\s+STATUS\s+CREATED\s+EXPIRES\s+REVOKED$/);
      assert.ok(
        rows.some((row) =>
          new RegExp(
            `^${id}\\s+ehr-bridge\\s+integration\\s+all of integration\\s+active\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\dZ\\s+\\S+ \\S+\\s+-$`,
          ).test(row),
        ),
        r.stdout,
      );
      assert.ok(
        rows.some((row) => /\sfirst-admin\s+admin\s/.test(row)),
        'the first admin token is listed',
      );
      const json = await ok('token', 'list', '--json');
      const { tokens } = JSON.parse(json.stdout) as { tokens: Array<Record<string, unknown>> };
      assert.deepEqual(Object.keys(tokens.find((t) => t.id === id) ?? {}).sort(), [
        'createdAt',
        'expiresAt',
        'id',
        'name',
        'revokedAt',
        'role',
        'scopes',
        'status',
      ]);
      for (const out of [r.stdout, json.stdout]) {
        assert.doesNotMatch(out, /vgl_/);
        assert.ok(!out.includes(secret.split('.')[1] as string));
      }
    });

    it('revokes a token and audits token.revoke once', async () => {
      const r = await ok('token', 'revoke', '--id', id);
      assert.match(r.stdout, new RegExp(`^API token ${id} \\(ehr-bridge, integration\\) revoked$`, 'm'));
      assert.match(r.stdout, /refuses it within 5 seconds/);
      const row = db.prepare('SELECT revoked_at FROM api_tokens WHERE id = ?').get(id) as {
        revoked_at: number | null;
      };
      assert.notEqual(row.revoked_at, null);
      assert.deepEqual(
        audit(`ApiToken/${id}`).filter((a) => a.action === 'token.revoke'),
        [{ action: 'token.revoke', actor: 'cli:ops-test', purpose: null, source: 'cli' }],
      );
      const listed = await ok('token', 'list', '--json');
      const mine = (
        JSON.parse(listed.stdout) as {
          tokens: Array<{ id: string; status: string; revokedAt: string | null }>;
        }
      ).tokens.find((t) => t.id === id);
      assert.equal(mine?.status, 'revoked');
      assert.equal(mine?.revokedAt, new Date(row.revoked_at as number).toISOString());
    });

    it('refuses to revoke a token revoked before, as the route answers 404, saying when, and writes nothing', async () => {
      const count = auditCount();
      const r = await inDir('token', 'revoke', '--id', id);
      assert.notEqual(r.code, 0);
      assert.match(
        r.stderr,
        new RegExp(
          `^vigil: API token ${id} \\(ehr-bridge\\) was revoked already, at \\d{4}-.*; nothing changed\\n$`,
        ),
      );
      assert.equal(auditCount(), count);
    });
  });

  it('refuses bad input with one line on stderr naming what to do, a non-zero exit, and writes nothing', async () => {
    const count = auditCount();
    const events = (db.prepare('SELECT count(*) AS n FROM device_events').get() as { n: number }).n;
    const cases: Array<[string[], RegExp]> = [
      [
        ['device', 'revoke', '--id', 'ox-404', '--reason', 'reported stolen'],
        /no device ox-404; "vigil device list" shows the ids/,
      ],
      [
        ['device', 'quarantine', '--id', 'ox-404', '--reason', 'odd traffic'],
        /no device ox-404; "vigil device list" shows the ids/,
      ],
      [['device', 'release', '--id', 'ox-404'], /no device ox-404; "vigil device list" shows the ids/],
      [
        ['device', 'revoke', '--id', '../etc', '--reason', 'reported stolen'],
        /"\.\.\/etc" is not a device id/,
      ],
      [['device', 'revoke', '--id', 'ox-1'], /required option '--reason <text>'/],
      [
        ['device', 'quarantine', '--id', 'ox-1', '--reason', ' x '],
        /--reason must say why in 3 to 500 characters/,
      ],
      [
        ['device', 'quarantine', '--id', 'ox-1', '--reason', 'x'.repeat(501)],
        /--reason must say why in 3 to 500 characters/,
      ],
      [['device', 'release'], /required option '--id <id>'/],
      [
        ['token', 'revoke', '--id', '0123456789abcdef'],
        /no API token 0123456789abcdef; "vigil token list" shows the ids/,
      ],
      [
        ['token', 'revoke', '--id', 'vgl_0123456789abcdef.c2VjcmV0'],
        /no API token 0123456789abcdef; "vigil token list" shows the ids/,
      ],
      [
        ['token', 'revoke', '--id', 'vgl_0123456789abcdeXc2VjcmV0'],
        /--id takes a token id, 16 hex characters/,
      ],
      [['token', 'revoke', '--id', 'ehr-bridge'], /--id takes a token id, 16 hex characters/],
      [['token', 'list', '--no-such-flag'], /unknown option/],
    ];
    const runs = await Promise.all(cases.map(([args]) => inDir(...args)));
    cases.forEach(([args, message], i) => {
      const r = runs[i] as (typeof runs)[number];
      assert.notEqual(r.code, 0, `${args.join(' ')} succeeded`);
      assert.match(r.stderr, message, args.join(' '));
      assert.match(r.stderr, /^vigil: [^\n]*\n$/, `${args.join(' ')}: one line: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /c2VjcmV0/, 'a pasted secret is not echoed');
    });
    assert.equal(auditCount(), count);
    assert.equal((db.prepare('SELECT count(*) AS n FROM device_events').get() as { n: number }).n, events);
  });

  it('refuses a directory that is not a Vigil data dir', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'vigil-not-init-'));
    try {
      const r = await vigil(['device', 'list', '--data-dir', empty]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /is not a Vigil data dir; run "vigil init/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('documents every verb under --help, with what a running server does', async () => {
    const [device, token, quarantine, release, revoke] = await Promise.all([
      vigil(['device', '--help']),
      vigil(['token', '--help']),
      vigil(['device', 'quarantine', '--help']),
      vigil(['device', 'release', '--help']),
      vigil(['device', 'revoke', '--help']),
    ]);
    for (const verb of ['list', 'revoke', 'quarantine', 'release'])
      assert.match(device.stdout, new RegExp(`^\\s+${verb}\\b`, 'm'), verb);
    for (const verb of ['list', 'revoke'])
      assert.match(token.stdout, new RegExp(`^\\s+${verb}\\b`, 'm'), verb);
    assert.match(quarantine.stdout, /--reason <text>/);
    assert.match(quarantine.stdout, /security event[\s\S]*relay/);
    assert.match(release.stdout, /not quarantined is left as it is/);
    assert.match(revoke.stdout, /running server[\s\S]*disconnects/);
    for (const r of [device, token, quarantine, release, revoke]) assert.equal(r.code, 0);
  });
});
