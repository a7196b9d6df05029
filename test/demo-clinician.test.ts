/**
 * `vigil demo` gives a person a clinician to sign in as: on first start it creates the user
 * demo-clinician with a one-time password, printed once beside the admin's and the dashboard
 * address, and that user reads the demo ward's patients (the demo's care team lists them).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { loadConfig } from '../src/config/config.ts';
import { DEMO_CLINICIAN, initDataDir } from '../src/server/provision.ts';
import { startDemoProcess } from './support/cli-process.ts';
import { httpsRequest } from './support/https-client.ts';

describe('demo clinician', { timeout: 120_000 }, () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'vigil-demo-'));
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('plain "vigil init" creates no clinician; the demo init does, with a one-time password', async () => {
    const plain = await initDataDir(loadConfig({ env: { VIGIL_DATA_DIR: tempDir() } }));
    assert.equal(plain.clinician, undefined);
    const demoDir = tempDir();
    const demo = await initDataDir(loadConfig({ env: { VIGIL_DATA_DIR: demoDir } }), { demoClinician: true });
    assert.equal(demo.clinician?.username, DEMO_CLINICIAN);
    assert.ok((demo.clinician?.password.length ?? 0) >= 12);
    const db = new Database(join(demoDir, 'vigil.db'), { readonly: true });
    const row = db
      .prepare('select role, must_change_password from users where username = ?')
      .get(DEMO_CLINICIAN) as { role: string; must_change_password: number } | undefined;
    db.close();
    assert.deepEqual(row, { role: 'clinician', must_change_password: 1 });
  });

  it('prints the dashboard and both first sign-ins, and the clinician can sign in with the password', async () => {
    const dir = tempDir();
    const { child, out } = await startDemoProcess(dir, { devices: 1, rate: 0.2 });
    try {
      const dashboard = /Dashboard\s+(https:\/\/\S+?)\/\s/.exec(out)?.[1];
      const admin = /admin\s+user admin, one-time password (\S+)/.exec(out)?.[1];
      const clinician = new RegExp(`clinician\\s+user ${DEMO_CLINICIAN}, one-time password (\\S+)`).exec(
        out,
      )?.[1];
      assert.ok(dashboard && admin && clinician, out);
      assert.ok(out.indexOf('Dashboard') < out.indexOf(clinician), 'sign-ins follow the dashboard address');
      const ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
      const login = await httpsRequest(`${dashboard}/api/v1/auth/login`, {
        ca,
        method: 'POST',
        body: JSON.stringify({ username: DEMO_CLINICIAN, password: clinician }),
      });
      assert.equal(login.status, 200, login.text);
      // First sign-in: the one-time password opens only account setup (new password, TOTP).
      assert.equal((login.json as { stage?: string }).stage, 'setup');
    } finally {
      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
