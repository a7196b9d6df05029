/**
 * The care-team routes refuse members an alert could not reach (a mistyped username, a
 * disabled account, a revoked or expired token), naming them, and save nothing; on SQLite and
 * PostgreSQL, over the real HTTP server.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from '../../test/support/backends.ts';
import { testHttpServer } from '../../test/support/test-http-server.ts';
import { ApiTokens } from '../access/api-tokens.ts';
import { UserStore } from '../access/users.store.ts';
import { AuditLog } from '../audit/audit-log.ts';
import { KeyRing } from '../crypto/key-ring.ts';
import type { App } from '../server/http.ts';
import { registerCareTeamRoutes } from './care-teams.routes.ts';
import { CareTeamStore } from './care-teams.store.ts';

interface Problem {
  code: string;
  detail: string;
}

for (const backend of BACKENDS) {
  describe(`care-team members on ${backend.name}`, () => {
    let app: App;
    let teams: CareTeamStore;
    let cleanup: () => Promise<void>;
    let admin = '';

    const call = async (method: 'POST' | 'PUT', url: string, payload: object) => {
      const r = await app.inject({ method, url, payload, headers: { authorization: `Bearer ${admin}` } });
      return { status: r.statusCode, type: String(r.headers['content-type']), body: r.json() };
    };

    before(async () => {
      const opened = await backend.open();
      const db = opened.store.db;
      const tokens = new ApiTokens(db);
      const users = new UserStore(db, new KeyRing(db, { id: 'mk', key: randomBytes(32) }));
      admin = (await tokens.create({ role: 'admin', name: 'ops', ttlSeconds: 600 })).token;
      await tokens.create({ role: 'clinician', name: 'ward-display', ttlSeconds: 600 });
      const revoked = await tokens.create({ role: 'clinician', name: 'old-display', ttlSeconds: 600 });
      await tokens.revoke(revoked.id);
      await tokens.create(
        { role: 'clinician', name: 'lapsed-display', ttlSeconds: 60 },
        Date.now() - 3_600_000,
      );
      await users.create({ username: 'dr.lee', role: 'clinician' });
      await users.create({ username: 'nurse.kim', role: 'clinician' });
      const gone = await users.create({ username: 'dr.gone', role: 'clinician' });
      await users.setDisabled(gone.user.id, true);
      teams = new CareTeamStore(db);
      ({ app } = await testHttpServer(tokens));
      registerCareTeamRoutes(app, { careTeams: teams, audit: new AuditLog(db) });
      await app.ready();
      cleanup = async () => {
        await app.close();
        await opened.cleanup();
      };
    });
    after(() => cleanup());

    it('creates a team whose members are users and API tokens in force, in the order given', async () => {
      const r = await call('POST', '/api/v1/care-teams', {
        id: 'ward-3',
        name: 'Ward 3',
        members: ['nurse.kim', 'ward-display', 'dr.lee'],
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.deepEqual(r.body.members, ['nurse.kim', 'ward-display', 'dr.lee']);
    });

    it('stores a username typed in capitals as the user is named, so escalation finds them', async () => {
      const r = await call('PUT', '/api/v1/care-teams/ward-3/members', { members: ['Dr.Lee', 'nurse.kim'] });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual((await teams.get('ward-3')).members, ['dr.lee', 'nurse.kim']);
    });

    it('refuses unknown names, naming each, and creates no team', async () => {
      const r = await call('POST', '/api/v1/care-teams', {
        id: 'ward-7',
        name: 'Ward 7',
        members: ['dr.smtih', 'nurse.kim', 'nurse.kmi'],
      });
      assert.equal(r.status, 400);
      assert.match(r.type, /application\/problem\+json/);
      const problem = r.body as Problem;
      assert.equal(problem.code, 'VIGIL_ERR_REQUEST_INVALID');
      assert.match(problem.detail, /no user or API token is named "dr\.smtih", "nurse\.kmi"/);
      assert.doesNotMatch(problem.detail, /"nurse\.kim"/);
      assert.equal(
        (await teams.list()).find((t) => t.id === 'ward-7'),
        undefined,
      );
    });

    it('refuses a disabled user and a revoked or expired token, and keeps the members as they were', async () => {
      const r = await call('PUT', '/api/v1/care-teams/ward-3/members', {
        members: ['dr.lee', 'dr.gone', 'old-display', 'lapsed-display'],
      });
      assert.equal(r.status, 400);
      const problem = r.body as Problem;
      assert.match(problem.detail, /no user or API token is named "old-display", "lapsed-display"/);
      assert.match(problem.detail, /the account of "dr\.gone" is disabled/);
      assert.deepEqual((await teams.get('ward-3')).members, ['dr.lee', 'nurse.kim']);
    });

    it('still takes an empty member list', async () => {
      const r = await call('PUT', '/api/v1/care-teams/ward-3/members', { members: [] });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body.members, []);
    });
  });
}
