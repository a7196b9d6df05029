import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tempStore } from '../../test/support/temp-store.ts';
import { csrfMatches, csrfTokenFor, DEFAULT_TIMEOUTS, SessionStore } from './sessions.ts';
import { UserStore } from './users.store.ts';

describe('sessions', () => {
  let t: Awaited<ReturnType<typeof tempStore>>;
  let nowMs = Date.parse('2026-11-22T08:00:00Z');
  const clock = () => nowMs;
  let sessions: SessionStore;
  let userId: string;
  before(async () => {
    t = await tempStore();
    sessions = new SessionStore(t.store.db, clock);
    userId = (
      await new UserStore(t.store.db, t.keys, clock).create({ username: 'nurse.ada', role: 'clinician' })
    ).user.id;
  });
  after(() => t.cleanup());

  it('stores only a hash of the session id', async () => {
    const s = await sessions.create(userId, 'full', '127.0.0.1');
    const rows = await t.store.db.selectFrom('sessions').selectAll().execute();
    assert.ok(rows.every((r) => r.id_hash !== s.id && !JSON.stringify(r).includes(s.id)));
    assert.equal((await sessions.find(s.id))?.userId, userId);
  });

  it('ends a session idle for 30 minutes, though activity keeps it alive', async () => {
    const s = await sessions.create(userId, 'full', undefined);
    nowMs += DEFAULT_TIMEOUTS.idleMs - 60_000;
    assert.ok(await sessions.find(s.id), 'used just before the idle limit');
    nowMs += DEFAULT_TIMEOUTS.idleMs - 60_000;
    assert.ok(await sessions.find(s.id), 'the last use restarted the idle clock');
    nowMs += DEFAULT_TIMEOUTS.idleMs;
    assert.equal(await sessions.find(s.id), undefined);
  });

  it('ends a busy session at its absolute limit of 12 hours', async () => {
    const s = await sessions.create(userId, 'full', undefined);
    for (let elapsed = 0; elapsed < DEFAULT_TIMEOUTS.absoluteMs - 20 * 60_000; elapsed += 20 * 60_000) {
      nowMs += 20 * 60_000;
      assert.ok(await sessions.find(s.id));
    }
    nowMs += 20 * 60_000;
    assert.equal(await sessions.find(s.id), undefined);
  });

  it('gives a sign-in ticket five minutes', async () => {
    const ticket = await sessions.create(userId, 'mfa', undefined);
    nowMs += DEFAULT_TIMEOUTS.ticketMs;
    assert.equal(await sessions.find(ticket.id), undefined);
  });

  it('derives a CSRF token only the holder of the session id can compute', async () => {
    const a = await sessions.create(userId, 'full', undefined);
    const b = await sessions.create(userId, 'full', undefined);
    assert.equal(a.csrfToken, csrfTokenFor(a.id));
    assert.ok(csrfMatches(a.id, a.csrfToken));
    assert.ok(!csrfMatches(a.id, b.csrfToken));
    assert.ok(!csrfMatches(a.id, undefined));
  });

  it('ends every session of a user but one on request', async () => {
    const keep = await sessions.create(userId, 'full', undefined);
    const other = await sessions.create(userId, 'full', undefined);
    const kept = await sessions.find(keep.id);
    assert.ok((await sessions.endAllForUser(userId, kept?.idHash)) >= 1);
    assert.ok(await sessions.find(keep.id));
    assert.equal(await sessions.find(other.id), undefined);
  });
});
