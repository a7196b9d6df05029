import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import type { App } from '../server/http.ts';
import { type AuthRouteDeps, registerAuthRoutes, type SessionStreams } from './auth-routes.ts';
import type { AuthService } from './auth-service.ts';
import type { Enrolment } from './enrolment.ts';
import type { UserIdentity } from './session-guard.ts';
import type { SessionStore } from './sessions.ts';
import type { UserStore } from './users.store.ts';

const lee: UserIdentity = {
  kind: 'user',
  userId: 'u-lee',
  name: 'dr.lee',
  role: 'clinician',
  actor: 'user:dr.lee',
  stage: 'full',
  sessionIdHash: 'hash-of-lee-session',
  sessionId: 'S'.repeat(43),
};

/** The stream hub, faked: records which sessions and users it was told had ended. */
class FakeStreams implements SessionStreams {
  readonly ended: string[] = [];
  endSessionStreams(sessionIdHash: string): void {
    this.ended.push(`session:${sessionIdHash}`);
  }
  endUserStreams(userId: string): void {
    this.ended.push(`user:${userId}`);
  }
}

/** The auth routes on a bare Fastify app whose guard has signed Dr Lee in (http.ts does it for real). */
async function appWith(streams: FakeStreams, calls: string[]) {
  const app = Fastify();
  app.decorateRequest('identity', undefined);
  app.addHook('onRequest', async (request) => {
    request.identity = lee;
  });
  const auth = {
    logout: async () => void calls.push('logout'),
    changePassword: async () => {
      calls.push('changePassword');
      return { id: 'N'.repeat(43), stage: 'full', csrfToken: 'C'.repeat(43), expiresAt: Date.now() + 60_000 };
    },
  } as unknown as AuthService;
  const deps: AuthRouteDeps = {
    auth,
    enrolment: {} as Enrolment,
    sessions: {} as SessionStore,
    users: {} as UserStore,
    streams: {
      endSessionStreams: (hash, detail) => {
        calls.push('streams');
        assert.match(detail, /sign in again/);
        streams.endSessionStreams(hash);
      },
      endUserStreams: (userId) => {
        calls.push('streams');
        streams.endUserStreams(userId);
      },
    },
  };
  registerAuthRoutes(app as unknown as App, deps);
  await app.ready();
  return app;
}

describe('auth routes and the live stream', () => {
  it("ends the signed-out session's live streams, after the session itself", async () => {
    const streams = new FakeStreams();
    const calls: string[] = [];
    const app = await appWith(streams, calls);
    const r = await app.inject({ method: 'POST', url: '/api/v1/auth/logout' });
    assert.equal(r.statusCode, 204);
    assert.deepEqual(streams.ended, ['session:hash-of-lee-session']);
    assert.deepEqual(calls, ['logout', 'streams']);
    await app.close();
  });

  it('ends every live stream of a user whose password changed (all their sessions ended)', async () => {
    const streams = new FakeStreams();
    const calls: string[] = [];
    const app = await appWith(streams, calls);
    const r = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/password',
      payload: { currentPassword: 'old horse battery', newPassword: 'new horse battery staple' },
    });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(streams.ended, ['user:u-lee']);
    assert.deepEqual(calls, ['changePassword', 'streams']);
    await app.close();
  });
});
